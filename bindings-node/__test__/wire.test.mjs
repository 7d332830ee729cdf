// The wire contract fixtures of core/tests/fixtures/wire.json, shared with the
// Rust and Python suites: each case gives the same normalized output or the
// same {field, code} errors through the Node API. The table is written in
// snake_case; contracts whose case is 'caller' take camelCase here (keys of
// inputs and outputs, segments of error fields).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import uoom from '../uoom.js'

const table = JSON.parse(readFileSync(new URL('../../core/tests/fixtures/wire.json', import.meta.url), 'utf8'))

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const camelKeys = (v) =>
  Array.isArray(v)
    ? v.map(camelKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), camelKeys(x)]))
      : v

function expected(c) {
  const cased = table.contracts[c.contract] === 'caller'
  if ('ok' in c.expect) return { ok: cased ? camelKeys(c.expect.ok) : c.expect.ok }
  return { errors: c.expect.errors.map((e) => ({ field: cased ? camel(e.field) : e.field, code: e.code })) }
}

function outcome(call) {
  try {
    return { ok: call() }
  } catch (e) {
    if (e.code !== 'UOOM_VALIDATION') throw e
    return { errors: e.fieldErrors.map((f) => ({ field: f.field, code: f.code })) }
  }
}

const K1 = { id: 'k1', kind: 'internal_kitchen', lat: 24.7, lon: 46.68, radiusKm: 8, baseCost: 2, costPerKm: 0.5, prepMin: 10, speedKmh: 25, quality: 0.9 }

function throughApi(c, input) {
  switch (c.contract) {
    case 'channels':
      return outcome(() => uoom.validateChannels(input) && uoom.validate('channels', input))
    case 'router_options':
      // A gateway is an object with methods that the package's Router takes
      // apart (gateway.test.mjs); the JSON contract refuses the key.
      if (input && typeof input === 'object' && 'gateway' in input) {
        return outcome(() => uoom.validate('routerOptions', input))
      }
      return outcome(() => new uoom.Router([K1], input).options)
    case 'create_order':
      // validateOrder answers with its own object (money with minor units):
      // its verdict is checked here, the normalized form through validate.
      return outcome(() => uoom.validateOrder(input) && uoom.validate('createOrder', input))
    default:
      return outcome(() => uoom.validate(camel(c.contract), input))
  }
}

for (const c of table.cases) {
  const input = table.contracts[c.contract] === 'caller' ? camelKeys(c.input) : c.input
  test(`wire fixture through validate: ${c.name}`, () => {
    assert.deepEqual(outcome(() => uoom.validate(camel(c.contract), input)), expected(c))
  })
  test(`wire fixture through the API: ${c.name}`, () => {
    assert.deepEqual(throughApi(c, input), expected(c))
  })
}

test('order status fixtures through Router.advance', () => {
  const router = new uoom.Router([K1], { manualClock: true })
  for (const c of table.cases.filter((c) => c.contract === 'order_status' && 'errors' in c.expect)) {
    assert.deepEqual(outcome(() => router.advance('00000000-0000-0000-0000-000000000001', c.input)), expected(c))
  }
})
