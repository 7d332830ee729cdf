import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, sample, expectCode } from './fixtures.mjs'

const ID = '0b6d7c8e-1f2a-4b3c-9d4e-5f6a7b8c9d0e'

test('new Order validates the request into a PENDING order with an exact total', () => {
  const o = new uoom.Order(sample(), { id: ID, nowMs: 1_000 })
  assert.equal(o.id, ID)
  assert.equal(o.customerId, sample().customerId)
  assert.equal(o.status, 'PENDING')
  assert.deepEqual(o.total, { amount: '15.99', minor: 1599, currency: 'USD' })
  assert.equal(o.totalQuantity, 1)
  assert.equal(o.createdAtMs, 1_000)
  assert.equal(o.request().deliveryAddress.city, 'New York')
  assert.match(new uoom.Order(JSON.stringify(sample())).id, /^[0-9a-f-]{36}$/, 'a fresh id by default')
})

test('legal transitions move the order; illegal ones are UOOM_CONFLICT and change nothing', () => {
  const o = new uoom.Order(sample(), { nowMs: 0 })
  assert.equal(o.canTransitionTo('VALIDATED'), true)
  assert.equal(o.canTransitionTo('DELIVERED'), false)
  assert.equal(o.transition('VALIDATED', 5), 'PENDING')
  assert.equal(o.status, 'VALIDATED')
  assert.equal(o.updatedAtMs, 5)
  expectCode(() => o.transition('DELIVERED', 6), 'UOOM_CONFLICT')
  assert.equal(o.status, 'VALIDATED')
  assert.equal(o.updatedAtMs, 5)
  expectCode(() => o.transition('cancelled', 7), 'UOOM_VALIDATION') // exact names, as in Python
  assert.equal(o.transition('CANCELLED', 7), 'VALIDATED')
  expectCode(() => o.transition('PENDING', 8), 'UOOM_CONFLICT')
})

test('bad inputs: request, id, status, time', () => {
  expectCode(() => new uoom.Order({}), 'UOOM_VALIDATION')
  const e = expectCode(() => new uoom.Order(sample(), { id: 'nope' }), 'UOOM_VALIDATION')
  assert.equal(e.fieldErrors[0].field, 'id')
  const o = new uoom.Order(sample())
  expectCode(() => o.transition('TELEPORTED'), 'UOOM_VALIDATION')
  expectCode(() => o.canTransitionTo('x'), 'UOOM_VALIDATION')
  const lower = expectCode(() => o.transition('validated'), 'UOOM_VALIDATION')
  assert.deepEqual(lower.fieldErrors.map((e) => [e.field, e.code]), [['status', 'invalid_value']], 'exact names, as in Python')
  expectCode(() => o.transition('VALIDATED', -1), 'UOOM_VALIDATION')
})

test('orderStatuses lists the lifecycle', () => {
  assert.deepEqual(uoom.orderStatuses(), [
    'PENDING', 'VALIDATED', 'ROUTED', 'CONFIRMED', 'PREPARING',
    'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED', 'FAILED',
  ])
})
