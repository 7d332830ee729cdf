import { Inject, Injectable } from '@nestjs/common'
import { Router } from 'uoom'
import type { CreateOrderRequest, OrderStatusView, RouteOutcome } from 'uoom'
import { httpPartnerGateway } from './partner.gateway'
import { ROUTING_OPTIONS, RoutingModuleOptions } from './routing.options'

/**
 * The one place the service talks to uoom: an in-process router (validation,
 * ranking, capacity ledger, booking saga, status read model). Routing awaits
 * the partner's booking over HTTP without blocking the event loop; uoom's
 * errors (`err.code`) are left to the exception filter to map onto HTTP.
 */
@Injectable()
export class RoutingService {
  private readonly router: Router

  constructor(@Inject(ROUTING_OPTIONS) options: RoutingModuleOptions) {
    const gateway = options.partnerUrl ? httpPartnerGateway(options.partnerUrl) : undefined
    this.router = new Router(options.channels, { ...options.router, gateway })
  }

  /** Validates and routes one create-order request, booking its partner. */
  createOrder(body: unknown, idempotencyKey?: string): Promise<RouteOutcome> {
    return this.router.route(body as CreateOrderRequest, idempotencyKey)
  }

  /** Current status of an order (throws `UOOM_NOT_FOUND`). */
  status(orderId: string): OrderStatusView {
    return this.router.status(orderId)
  }

  /**
   * Moves an order along its lifecycle (throws `UOOM_CONFLICT` when illegal).
   * `status` comes from an HTTP body, so it is any string here: uoom checks
   * it (`UOOM_VALIDATION`, code `invalid_value`, for anything but the exact
   * upper-case names).
   */
  advance(orderId: string, status: string): OrderStatusView {
    return this.router.advance(orderId, status as Parameters<Router['advance']>[1])
  }

  /** Prometheus text. */
  metrics(): string {
    return this.router.metrics()
  }
}
