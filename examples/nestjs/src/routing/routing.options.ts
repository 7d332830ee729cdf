import type { ChannelInput, RouterOptions } from 'uoom'

/** Injection token of the routing configuration. */
export const ROUTING_OPTIONS = Symbol('ROUTING_OPTIONS')

/** What `RoutingModule.forRoot` takes: the channel catalogue and router knobs. */
export interface RoutingModuleOptions {
  channels: ChannelInput[]
  router?: Omit<RouterOptions, 'gateway'>
  /** The partners' booking API; without it, orders book with simulated partners. */
  partnerUrl?: string
  /** On shutdown, how long to wait for orders still booking (default 10 s). */
  drainTimeoutMs?: number
}
