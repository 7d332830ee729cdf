import { BeforeApplicationShutdown, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common'
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
export class RoutingService implements BeforeApplicationShutdown {
  private readonly router: Router
  private readonly drainTimeoutMs: number
  private draining = false
  /** Routes started and not finished (booking, or between two steps). */
  private routing = 0

  constructor(@Inject(ROUTING_OPTIONS) options: RoutingModuleOptions) {
    const gateway = options.partnerUrl ? httpPartnerGateway(options.partnerUrl) : undefined
    this.router = new Router(options.channels, { ...options.router, gateway })
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000
  }

  /**
   * Validates and routes one create-order request, booking its partner.
   * Refused with 503 once the service drains (the load balancer retries
   * elsewhere; the `Idempotency-Key` keeps that safe).
   */
  async createOrder(body: unknown, idempotencyKey?: string): Promise<RouteOutcome> {
    if (this.draining) throw new ServiceUnavailableException('shutting down: retry on another instance')
    this.routing++
    try {
      return await this.router.route(body as CreateOrderRequest, idempotencyKey)
    } finally {
      this.routing--
    }
  }

  /** For `/ready`: false once shutdown began. */
  readiness(): { draining: boolean; inFlight: number } {
    return { draining: this.draining, inFlight: this.routing }
  }

  /**
   * SIGTERM (with `enableShutdownHooks`): stop taking orders, then let the
   * ones in flight finish their bookings, up to `drainTimeoutMs`, before
   * Nest closes the HTTP server. An order cut off by the deadline is not
   * lost: its partner call times out or its caller retries with its key.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true
    const deadline = Date.now() + this.drainTimeoutMs
    while (this.routing > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
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
