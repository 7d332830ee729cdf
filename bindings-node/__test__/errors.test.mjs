import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, expectCode, require } from './fixtures.mjs'

test('ErrorCode lists the stable codes of the core', () => {
  assert.deepEqual(Object.values(uoom.ErrorCode).sort(), [
    'UOOM_CAPACITY', 'UOOM_CONFLICT', 'UOOM_INFEASIBLE', 'UOOM_IO',
    'UOOM_NOT_FOUND', 'UOOM_TIMEOUT', 'UOOM_VALIDATION',
  ])
  assert.ok(Object.isFrozen(uoom.ErrorCode))
})

test('isUoomError recognises coded errors only', () => {
  const plain = new Error('x')
  assert.equal(uoom.isUoomError(plain), false)
  assert.equal(uoom.isUoomError({ code: 'UOOM_VALIDATION' }), false, 'not an Error')
  const other = Object.assign(new Error('y'), { code: 'ENOENT' })
  assert.equal(uoom.isUoomError(other), false)
  const err = expectCode(() => uoom.validateOrder({}), 'UOOM_VALIDATION')
  assert.equal(uoom.isUoomError(err), true)
  assert.equal(uoom.isUoomError(err, 'UOOM_CONFLICT'), false)
})

test('errors thrown by uoom are real Errors with a stack and a message', () => {
  const err = expectCode(() => uoom.validateOrder({}), 'UOOM_VALIDATION')
  assert.match(err.message, /validation failed/)
  assert.equal(typeof err.stack, 'string')
  assert.ok(err.fieldErrors.length >= 3)
})

test('version is the crate version', () => {
  assert.match(uoom.version(), /^\d+\.\d+\.\d+/)
  assert.equal(uoom.version(), require('../package.json').version)
})
