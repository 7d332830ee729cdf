// Types of the `uoom` package: everything of the generated index.d.ts plus
// the hand-written error codes.
export * from './index'
import type { FieldError } from './index'

/** Stable codes of the errors uoom throws (`err.code`), one per category. */
export declare const ErrorCode: {
  readonly VALIDATION: 'UOOM_VALIDATION'
  readonly INFEASIBLE: 'UOOM_INFEASIBLE'
  readonly CAPACITY: 'UOOM_CAPACITY'
  readonly NOT_FOUND: 'UOOM_NOT_FOUND'
  readonly CONFLICT: 'UOOM_CONFLICT'
  readonly TIMEOUT: 'UOOM_TIMEOUT'
  readonly IO: 'UOOM_IO'
}
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** An `Error` thrown (or a Promise rejected) by uoom. */
export interface UoomError<C extends ErrorCode = ErrorCode> extends Error {
  code: C
  /** Every field problem of a `UOOM_VALIDATION` error; empty otherwise. */
  fieldErrors: FieldError[]
}

/** True when `err` is an error thrown by uoom (optionally: with this code). */
export declare function isUoomError<C extends ErrorCode = ErrorCode>(err: unknown, code?: C): err is UoomError<C>

import {
  Router as NativeRouter,
  type BookingRequest,
  type CancelRequest,
  type ChannelInput,
  type CreateOrderRequest,
  type RouteOutcome,
  type RouterOptions as NativeRouterOptions,
} from './index'

/**
 * A fulfillment partner, for `new Router(channels, { gateway })`: `book`
 * resolves to the partner's `{reference}` (a rejection or throw is
 * `partner_failed`, no answer within `bookingTimeoutMs` is `partner_timeout`);
 * `cancel` takes back a booking uoom gave up (fire and forget).
 */
export interface Gateway {
  book(request: BookingRequest): Promise<{ reference: string }> | { reference: string }
  cancel?(request: CancelRequest): Promise<void> | void
}

/** Options of `new Router(channels, options)`, with the partner gateway. */
export interface RouterOptions extends NativeRouterOptions {
  /** Book through this partner instead of the simulated ones (use `route()`). */
  gateway?: Gateway
}

/** The router: `route()` books through the gateway; the rest is the native router's. */
export declare class Router extends NativeRouter {
  constructor(channels: Array<ChannelInput>, options?: RouterOptions | undefined | null)
  /** Routes one order; always a Promise (with the simulated partners too). */
  route(request: CreateOrderRequest | string | Buffer, idempotencyKey?: string): Promise<RouteOutcome>
  /** True when this router books through a gateway object. */
  readonly hasGateway: boolean
}
