import { Controller, Get } from '@nestjs/common'
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus'
import { RoutingService } from '../routing/routing.service'

/**
 * Probes for the load balancer and the orchestrator (ECS, Kubernetes):
 * `/health` is liveness (the process answers), `/ready` is readiness (the
 * router takes orders; 503 while the service drains on SIGTERM, so the load
 * balancer stops sending it new orders before it exits).
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly routing: RoutingService,
  ) {}

  @Get('health')
  @HealthCheck()
  live() {
    return this.health.check([])
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const probe = this.indicator.check('routing')
        const { draining, inFlight } = this.routing.readiness()
        return draining ? probe.down({ draining, inFlight }) : probe.up({ inFlight })
      },
    ])
  }
}
