// Every export of the package is named here, and each has its own test file:
// a new export without a test fails this one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom } from './fixtures.mjs'

const COVERED = {
  version: 'errors.test.mjs',
  ErrorCode: 'errors.test.mjs',
  isUoomError: 'errors.test.mjs',
  validateOrder: 'order.test.mjs',
  validateOrders: 'order.test.mjs',
  validateChannels: 'channel.test.mjs',
  validate: 'wire.test.mjs',
  solve: 'solve.test.mjs',
  solveSync: 'solve.test.mjs',
  Order: 'lifecycle.test.mjs',
  orderStatuses: 'lifecycle.test.mjs',
  Ledger: 'ledger.test.mjs',
  Ranker: 'rank.test.mjs',
  Router: 'router.test.mjs',
  __napiBindingTarget: 'exports.test.mjs',
}

test('every export is covered by a test file', () => {
  assert.deepEqual(Object.keys(uoom).sort(), Object.keys(COVERED).sort())
})

test('the loader picked the native addon', () => {
  assert.equal(uoom.__napiBindingTarget, 'native')
})
