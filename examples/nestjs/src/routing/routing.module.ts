import { DynamicModule, Module } from '@nestjs/common'
import { APP_FILTER } from '@nestjs/core'
import { OrdersController } from './orders.controller'
import { ROUTING_OPTIONS, RoutingModuleOptions } from './routing.options'
import { RoutingService } from './routing.service'
import { UoomExceptionFilter } from './uoom-exception.filter'

/** Order routing on uoom: the service, the HTTP API and the error mapping. */
@Module({})
export class RoutingModule {
  static forRoot(options: RoutingModuleOptions): DynamicModule {
    return {
      module: RoutingModule,
      // Global: other modules (the health probes) inject RoutingService.
      global: true,
      controllers: [OrdersController],
      providers: [
        { provide: ROUTING_OPTIONS, useValue: options },
        RoutingService,
        { provide: APP_FILTER, useClass: UoomExceptionFilter },
      ],
      exports: [RoutingService],
    }
  }
}
