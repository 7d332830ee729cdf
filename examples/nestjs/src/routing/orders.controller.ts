import { Body, Controller, Get, Header, Headers, HttpCode, HttpStatus, Param, Post, Res } from '@nestjs/common'
import type { Response } from 'express'
import type { OrderStatusView, RouteOutcome } from 'uoom'
import { RoutingService } from './routing.service'

/** The seeds' order API, now routed in-process. */
@Controller()
export class OrdersController {
  constructor(private readonly routing: RoutingService) {}

  /**
   * Creates and routes an order; `Idempotency-Key` makes retries safe.
   * 201 when confirmed, 422 with the reason when no channel took it.
   */
  @Post('orders')
  @HttpCode(201)
  async create(
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RouteOutcome> {
    const outcome = await this.routing.createOrder(body, key)
    if (outcome.status === 'FAILED') res.status(HttpStatus.UNPROCESSABLE_ENTITY)
    return outcome
  }

  /** The order's current status. */
  @Get('orders/:id/status')
  status(@Param('id') id: string): OrderStatusView {
    return this.routing.status(id)
  }

  /** Moves the order along its lifecycle (`{"status": "PREPARING"}`). */
  @Post('orders/:id/status')
  @HttpCode(200)
  advance(@Param('id') id: string, @Body() body: { status?: unknown }): OrderStatusView {
    return this.routing.advance(id, String(body?.status ?? ''))
  }

  /** Routing metrics, Prometheus text format. */
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): string {
    return this.routing.metrics()
  }
}
