import { ArgumentsHost, Catch, HttpStatus } from '@nestjs/common'
import { BaseExceptionFilter } from '@nestjs/core'
import type { Response } from 'express'
import { ErrorCode, isUoomError } from 'uoom'

/** HTTP status of each uoom error code. */
export const HTTP_STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCode.VALIDATION]: HttpStatus.BAD_REQUEST,
  [ErrorCode.NOT_FOUND]: HttpStatus.NOT_FOUND,
  [ErrorCode.CONFLICT]: HttpStatus.CONFLICT,
  [ErrorCode.CAPACITY]: HttpStatus.CONFLICT,
  [ErrorCode.INFEASIBLE]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.TIMEOUT]: HttpStatus.GATEWAY_TIMEOUT,
  [ErrorCode.IO]: HttpStatus.BAD_GATEWAY,
}

/**
 * Maps uoom's coded errors onto HTTP: 400 with every field problem for
 * validation, 404, 409 for conflicts and capacity, …; anything else goes to
 * Nest's default handling.
 */
@Catch()
export class UoomExceptionFilter extends BaseExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (!isUoomError(exception)) {
      super.catch(exception, host)
      return
    }
    const status = HTTP_STATUS_OF[exception.code] ?? HttpStatus.INTERNAL_SERVER_ERROR
    const res = host.switchToHttp().getResponse<Response>()
    res.status(status).json({
      statusCode: status,
      code: exception.code,
      message: exception.message,
      errors: exception.fieldErrors,
    })
  }
}
