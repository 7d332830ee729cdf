'use strict'
// Entry point of the `uoom` package: the native binding (index.js, generated
// by the napi-rs CLI) plus the one thing worth writing by hand, the error
// codes, so callers can switch on them without string typos.

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

module.exports = { ...native, ErrorCode, isUoomError }
