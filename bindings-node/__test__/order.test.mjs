import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, sample, expectCode } from './fixtures.mjs'

test('validateOrder normalizes the sample request with exact money', () => {
  const o = uoom.validateOrder(sample())
  assert.equal(o.customerId, '123e4567-e89b-12d3-a456-426614174000')
  assert.equal(o.restaurantId, '550e8400-e29b-41d4-a716-446655440001')
  assert.equal(o.currency, 'USD')
  assert.equal(o.items[0].unitPrice, 15.99)
  assert.deepEqual(o.items[0].lineTotal, { amount: '15.99', minor: 1599, currency: 'USD' })
  assert.deepEqual(o.total, { amount: '15.99', minor: 1599, currency: 'USD' })
  assert.equal(o.totalQuantity, 1)
  assert.equal(o.deliveryAddress.postalCode, '10001')
  assert.equal(o.deliveryAddress.latitude, 40.7128)
})

test('validateOrder accepts JSON text and Buffers too', () => {
  const text = JSON.stringify(sample())
  assert.deepEqual(uoom.validateOrder(text), uoom.validateOrder(sample()))
  assert.deepEqual(uoom.validateOrder(Buffer.from(text)), uoom.validateOrder(sample()))
})

test('totals are exact: 3 x 0.10 + 0.20 is 0.50, not 0.5000000001', () => {
  const req = sample()
  req.items = [
    { itemId: 'a', name: 'Tea', quantity: 3, unitPrice: 0.1 },
    { itemId: 'b', name: 'Mint', quantity: 1, unitPrice: 0.2 },
  ]
  const o = uoom.validateOrder(req)
  assert.equal(o.total.minor, 50)
  assert.equal(o.total.amount, '0.50')
  assert.equal(o.totalQuantity, 4)
})

test('routing hints and currency come through', () => {
  const req = { ...sample(), currency: 'SAR', vehicle: 'van', deadlineMinutes: 30, priority: 2 }
  const o = uoom.validateOrder(req)
  assert.equal(o.currency, 'SAR')
  assert.equal(o.vehicle, 'van')
  assert.equal(o.deadlineMinutes, 30)
  assert.equal(o.priority, 2)
  assert.equal(o.total.currency, 'SAR')
})

test('every problem is reported at once, with its field path', () => {
  const req = sample()
  req.customerId = 'nope'
  req.items[0].quantity = 1000
  req.items[0].unitPrice = '15.99'
  req.deliveryAddress.longitude = 200
  const err = expectCode(() => uoom.validateOrder(req), 'UOOM_VALIDATION')
  const byField = Object.fromEntries(err.fieldErrors.map((e) => [e.field, e.code]))
  assert.equal(byField.customerId, 'invalid_uuid')
  assert.equal(byField['items[0].quantity'], 'out_of_range')
  assert.equal(byField['items[0].unitPrice'], 'invalid_type')
  assert.equal(byField['deliveryAddress.longitude'], 'out_of_range')
  for (const e of err.fieldErrors) assert.equal(typeof e.message, 'string')
})

test('JSON text that is not JSON is a validation error on the whole body', () => {
  const err = expectCode(() => uoom.validateOrder('{'), 'UOOM_VALIDATION')
  assert.equal(err.fieldErrors[0].field, '')
  assert.equal(err.fieldErrors[0].code, 'not_json')
})

test('validateOrders: one crossing for a batch, errors per entry without throwing', () => {
  const bad = sample()
  bad.items = []
  const out = uoom.validateOrders([sample(), bad, JSON.stringify(sample())])
  assert.equal(out.length, 3)
  assert.equal(out[0].ok, true)
  assert.equal(out[0].order.total.minor, 1599)
  assert.equal(out[1].ok, false)
  assert.equal(out[1].error.code, 'UOOM_VALIDATION')
  assert.equal(out[1].error.fieldErrors[0].field, 'items')
  assert.equal(out[2].ok, true)
})

test('values with no JSON form are reported, not thrown as crashes', () => {
  const cyclic = sample()
  cyclic.self = cyclic
  const err = expectCode(() => uoom.validateOrder(cyclic), 'UOOM_VALIDATION')
  assert.equal(err.fieldErrors[0].code, 'not_json')
  expectCode(() => uoom.validateOrder(undefined), 'UOOM_VALIDATION')
  const nan = sample()
  nan.items[0].unitPrice = NaN
  const e2 = expectCode(() => uoom.validateOrder(nan), 'UOOM_VALIDATION')
  assert.equal(e2.fieldErrors[0].field, 'items[0].unitPrice', 'NaN becomes null: the field is named')
})
