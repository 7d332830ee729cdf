'use strict'
// Entry point of the `uoom` package: the native binding (index.js, generated
// by the napi-rs CLI) plus what is worth writing by hand: the error codes, so
// callers can switch on them without string typos, and `Router.route()`,
// which drives the native saga steps with the caller's gateway Promises.

const native = require('./index.js')

/** Stable codes of the errors uoom throws (`err.code`), one per category. */
const ErrorCode = Object.freeze({
  VALIDATION: 'UOOM_VALIDATION',
  INFEASIBLE: 'UOOM_INFEASIBLE',
  CAPACITY: 'UOOM_CAPACITY',
  NOT_FOUND: 'UOOM_NOT_FOUND',
  CONFLICT: 'UOOM_CONFLICT',
  TIMEOUT: 'UOOM_TIMEOUT',
  IO: 'UOOM_IO',
})

const CODES = new Set(Object.values(ErrorCode))

/**
 * True when `err` is an error thrown by uoom (optionally: with this code).
 * A TypeScript type guard: afterwards `err.code` and `err.fieldErrors` are typed.
 */
function isUoomError(err, code) {
  return (
    err instanceof Error &&
    typeof err.code === 'string' &&
    CODES.has(err.code) &&
    (code === undefined || err.code === code)
  )
}

const TIMED_OUT = Symbol('timed out')

/** A partner answer's error text, whatever was thrown or rejected. */
function reasonOf(err) {
  if (err instanceof Error) return err.message || err.name
  return typeof err === 'string' ? err : `gateway rejected with ${String(err)}`
}

/**
 * The router. Without a `gateway` option it books through simulated partners
 * in-process; with one, `route()` books through `gateway.book(request)` (a
 * Promise of `{reference}`) and compensates through `gateway.cancel(request)`,
 * with the engine's `bookingTimeoutMs`. Every other method is the native
 * router's.
 */
/**
 * What `gateway.book` receives, from a native booking step: `order` is parsed
 * from the step's JSON text the first time the gateway reads it.
 */
function bookingRequest(step) {
  const json = step.orderJson
  let order
  return {
    orderId: step.orderId,
    channelId: step.channelId,
    channelKind: step.channelKind,
    units: step.units,
    get order() {
      if (order === undefined) order = JSON.parse(json)
      return order
    },
  }
}

class Router extends native.Router {
  #gateway

  constructor(channels, options) {
    const { gateway, ...rest } = options ?? {}
    if (gateway !== undefined && gateway !== null) {
      if (typeof gateway !== 'object' || typeof gateway.book !== 'function') {
        throw fieldError('gateway', 'invalid_type', 'gateway must be an object with a book(request) method')
      }
      if (gateway.cancel !== undefined && typeof gateway.cancel !== 'function') {
        throw fieldError('gateway.cancel', 'invalid_type', 'gateway.cancel must be a function')
      }
      if (rest.batchWindowMs !== undefined) {
        throw fieldError('batchWindowMs', 'unsupported', 'a batch window routes through simulated partners: it cannot be combined with a gateway')
      }
    }
    super(channels, options === undefined ? undefined : rest)
    this.#gateway = gateway ?? undefined
  }

  /**
   * Routes one order; always a Promise. With a gateway, a booking that
   * rejects or throws is `partner_failed`, one that does not settle within
   * `bookingTimeoutMs` is `partner_timeout` (and is cancelled), and the next
   * candidate channel is tried; `bookingReference` carries the partner's
   * reference of the booking that confirmed the order.
   */
  async route(request, idempotencyKey) {
    const gateway = this.#gateway
    if (gateway === undefined) return super.submit(request, idempotencyKey)
    // One step's CPU work at a time: the loop is free while partners answer.
    let step = super.begin(request, idempotencyKey)
    for (;;) {
      this.#sendCancels(step.cancels)
      if (step.outcome) return step.outcome
      const { ticket, timeoutMs } = step.book
      const booking = bookingRequest(step.book)
      let answer
      try {
        answer = await this.#book(gateway, booking, timeoutMs)
      } catch (err) {
        super.abandon(ticket)
        throw err
      }
      step = super.resume(ticket, answer)
    }
  }

  /** The partner's answer as the engine takes it, cut at `timeoutMs`. */
  async #book(gateway, booking, timeoutMs) {
    let timer
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs, TIMED_OUT)
    })
    try {
      const booked = Promise.resolve().then(() => gateway.book(booking))
      const value = await Promise.race([booked, timeout])
      if (value === TIMED_OUT) return { timeout: true }
      if (value === null || typeof value !== 'object' || typeof value.reference !== 'string' || value.reference === '') {
        return { error: `gateway.book resolved without a string \`reference\` (got ${describe(value)})` }
      }
      return { reference: value.reference }
    } catch (err) {
      return { error: reasonOf(err) }
    } finally {
      clearTimeout(timer)
    }
  }

  #sendCancels(cancels) {
    const gateway = this.#gateway
    if (!cancels.length || gateway === undefined || typeof gateway.cancel !== 'function') return
    for (const c of cancels) {
      Promise.resolve()
        .then(() => gateway.cancel(c))
        .catch((err) => {
          process.emitWarning(`uoom: cancelling the booking of order ${c.orderId} on ${c.channelId} failed: ${reasonOf(err)}`, 'UoomCancelWarning')
        })
    }
  }

  /** Refused with a gateway: its bookings are Promises, so use `route()`. */
  submit(request, idempotencyKey) {
    if (this.#gateway !== undefined) throw conflict('submit')
    return super.submit(request, idempotencyKey)
  }

  submitMany(requests) {
    if (this.#gateway !== undefined) throw conflict('submitMany')
    return super.submitMany(requests)
  }

  submitManyAsync(requests) {
    if (this.#gateway !== undefined) return Promise.reject(conflict('submitManyAsync'))
    return super.submitManyAsync(requests)
  }

  /** True when this router books through a gateway object. */
  get hasGateway() {
    return this.#gateway !== undefined
  }
}

function describe(v) {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

function conflict(method) {
  const err = new Error(`conflict: ${method} books through simulated partners; a router with a gateway routes with route()`)
  err.code = ErrorCode.CONFLICT
  err.fieldErrors = []
  return err
}

function fieldError(field, code, message) {
  const err = new Error(`invalid input: ${field}: ${message}`)
  err.code = ErrorCode.VALIDATION
  err.fieldErrors = [{ field, code, message }]
  return err
}

// One assignment per name, not a spread: Node's ESM loader finds a CommonJS
// module's named exports by reading such assignments, so that
// `import { Router } from 'uoom'` works as well as `require('uoom').Router`.
module.exports = { ...native }
module.exports.Ledger = native.Ledger
module.exports.Order = native.Order
module.exports.Ranker = native.Ranker
module.exports.Router = Router
module.exports.ErrorCode = ErrorCode
module.exports.isUoomError = isUoomError
module.exports.orderStatuses = native.orderStatuses
module.exports.solve = native.solve
module.exports.solveSync = native.solveSync
module.exports.validate = native.validate
module.exports.validateChannels = native.validateChannels
module.exports.validateOrder = native.validateOrder
module.exports.validateOrders = native.validateOrders
module.exports.version = native.version
