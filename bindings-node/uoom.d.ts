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
