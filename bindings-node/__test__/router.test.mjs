import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, sample, channels, expectCode } from './fixtures.mjs'

const router = (opts = {}) => new uoom.Router(channels(), { manualClock: true, startMs: 0, seed: 3, ...opts })

test('submit routes an order in real time and status reads it back', () => {
  const r = router()
  const out = r.submit(sample())
  assert.equal(out.status, 'CONFIRMED')
  assert.ok(['k1', 'd1'].includes(out.channel))
  assert.equal(out.decision, 'realtime')
  assert.equal(out.replayed, false)
  assert.ok(out.attempts >= 1)
  const s = r.status(out.orderId)
  assert.equal(s.status, 'CONFIRMED')
  assert.equal(s.channel, out.channel)
  assert.equal(s.customerId, sample().customerId)
  assert.equal(s.restaurantId, sample().restaurantId)
  assert.deepEqual(r.ordersByCustomer(sample().customerId).map((v) => v.orderId), [out.orderId])
})

test('JSON text bodies route too; bad ones throw UOOM_VALIDATION with field errors', () => {
  const r = router()
  assert.equal(r.submit(JSON.stringify(sample())).status, 'CONFIRMED')
  const bad = sample()
  bad.items[0].quantity = 0
  const err = expectCode(() => r.submit(bad), 'UOOM_VALIDATION')
  assert.equal(err.fieldErrors[0].field, 'items[0].quantity')
})

test('an idempotency key replays the first outcome', () => {
  const r = router()
  const a = r.submit(sample(), 'key-1')
  const b = r.submit(sample(), 'key-1')
  assert.equal(b.orderId, a.orderId)
  assert.equal(b.replayed, true)
})

test('capacity runs out: later orders fail with the reason, never overbook', () => {
  const r = router()
  const outs = Array.from({ length: 8 }, () => r.submit(sample()))
  const confirmed = outs.filter((o) => o.status === 'CONFIRMED')
  assert.equal(confirmed.length, 5, 'capacity 3 + 2 units')
  const failed = outs.filter((o) => o.status === 'FAILED')
  assert.equal(failed.length, 3)
  for (const f of failed) assert.ok(f.failure, 'a failed order says why')
})

test('lifecycle: legal moves pass, illegal ones are UOOM_CONFLICT and change nothing', () => {
  const r = router()
  const { orderId } = r.submit(sample())
  expectCode(() => r.advance(orderId, 'DELIVERED'), 'UOOM_CONFLICT')
  assert.equal(r.status(orderId).status, 'CONFIRMED')
  assert.equal(r.advance(orderId, 'PREPARING').status, 'PREPARING')
  expectCode(() => r.advance(orderId, 'out_for_delivery'), 'UOOM_VALIDATION')
  assert.equal(r.advance(orderId, 'OUT_FOR_DELIVERY').status, 'OUT_FOR_DELIVERY')
  expectCode(() => r.advance(orderId, 'TELEPORTED'), 'UOOM_VALIDATION')
  expectCode(() => r.advance('00000000-0000-4000-8000-000000000000', 'PREPARING'), 'UOOM_NOT_FOUND')
  expectCode(() => r.status('00000000-0000-4000-8000-000000000000'), 'UOOM_NOT_FOUND')
  expectCode(() => r.status('not-a-uuid'), 'UOOM_VALIDATION')
  expectCode(() => r.ordersByCustomer('x'), 'UOOM_VALIDATION')
})

test('submitMany and submitManyAsync report each entry on its own', async () => {
  const bad = sample()
  bad.customerId = 'nope'
  const batch = [{ request: sample() }, { request: bad }, { request: JSON.stringify(sample()), idempotencyKey: 'k' }]
  const sync = router().submitMany(batch)
  assert.deepEqual(sync.map((x) => x.ok), [true, false, true])
  assert.equal(sync[1].error.code, 'UOOM_VALIDATION')
  assert.equal(sync[1].error.fieldErrors[0].field, 'customerId')
  const r = router()
  const pending = r.submitManyAsync(batch)
  assert.ok(pending instanceof Promise)
  const out = await pending
  assert.deepEqual(out.map((x) => x.ok), [true, false, true])
  assert.equal(out[0].outcome.status, 'CONFIRMED')
  assert.equal(r.status(out[2].outcome.orderId).status, 'CONFIRMED')
})

test('batch window: orders queue as VALIDATED until poll/flush routes them with the solver', () => {
  const r = router({ batchWindowMs: 100 })
  const a = r.submit(sample())
  assert.equal(a.status, 'VALIDATED')
  assert.deepEqual(r.poll(), [], 'window not over yet')
  r.advanceMs(150)
  const routed = r.poll()
  assert.equal(routed.length, 1)
  assert.equal(routed[0].status, 'CONFIRMED')
  assert.match(routed[0].decision, /^batch_|^fallback$/)
  r.submit(sample())
  assert.equal(r.flush().length, 1)
})

test('failing partners are compensated and reported', () => {
  const r = router({ partnerFailureRate: 1 })
  const out = r.submit(sample())
  assert.equal(out.status, 'FAILED')
  assert.ok(out.failure)
})

test('events drain from the outbox as relay envelopes; metrics are Prometheus text', () => {
  const r = router()
  r.submit(sample())
  assert.ok(r.outboxDepth() > 0)
  const events = r.drainEvents()
  const types = events.map((e) => e.type)
  assert.ok(types.includes('OrderCreated'), types.join())
  assert.ok(types.includes('OrderConfirmed') || types.includes('OrderStatusChanged'), types.join())
  for (const e of events) {
    assert.equal(typeof e.id, 'string')
    assert.equal(typeof e.aggregateId, 'string')
    assert.equal(typeof e.timestamp, 'string')
  }
  assert.equal(r.outboxDepth(), 0)
  assert.match(r.metrics(), /order_processing_duration/)
})

test('bad router options and channels throw UOOM_VALIDATION', () => {
  const cs = channels()
  cs[0].quality = 2
  const err = expectCode(() => new uoom.Router(cs), 'UOOM_VALIDATION')
  assert.equal(err.fieldErrors[0].field, 'channels[0].quality')
  expectCode(() => new uoom.Router(channels(), { partnerFailureRate: 3 }), 'UOOM_VALIDATION')
  expectCode(() => new uoom.Router(channels(), { reservationTtlMs: -1 }), 'UOOM_VALIDATION')
  const unknown = expectCode(() => new uoom.Router(channels(), { slotMS: 5, topK: 0 }), 'UOOM_VALIDATION')
  assert.deepEqual(unknown.fieldErrors.map((e) => [e.field, e.code]), [['slotMS', 'unknown_field'], ['topK', 'out_of_range']])
})

test('a gateway must be an object with book(); null means the simulated partners', () => {
  for (const gateway of [() => {}, {}, 5, { book: 1 }]) {
    const err = expectCode(() => new uoom.Router(channels(), { gateway }), 'UOOM_VALIDATION')
    assert.deepEqual(err.fieldErrors.map((e) => [e.field, e.code]), [['gateway', 'invalid_type']])
  }
  const bad = expectCode(() => new uoom.Router(channels(), { gateway: { book() {}, cancel: 1 } }), 'UOOM_VALIDATION')
  assert.deepEqual(bad.fieldErrors.map((e) => [e.field, e.code]), [['gateway.cancel', 'invalid_type']])
  assert.equal(new uoom.Router(channels(), { gateway: null }).hasGateway, false)
  assert.equal(new uoom.Router(channels(), { gateway: { book() {} } }).hasGateway, true)
})

test('every option of the Python binding is an option here, with the same defaults', () => {
  const o = new uoom.Router(channels(), { batchMax: 8, rankWeights: { cost: 1 }, fallbackAttempts: 0 }).options
  assert.deepEqual(o, {
    manualClock: false, startMs: 0, seed: 1, slotMs: 900_000, reservationTtlMs: 30_000, bookingTimeoutMs: 2_000,
    topK: 3, fallbackAttempts: 0, batchWindowMs: null, batchMax: 8, solverBudgetMs: 20,
    rankWeights: { capacity: 0.25, quality: 0.3, latency: 0.3, cost: 1 }, partnerFailureRate: 0, partnerLatencyMs: 5,
  })
})

test('every bad channel and option is reported at once', () => {
  const cs = channels()
  cs[1].quality = undefined
  const err = expectCode(() => new uoom.Router(cs, { topK: 0 }), 'UOOM_VALIDATION')
  assert.deepEqual(err.fieldErrors.map((e) => [e.field, e.code]), [['channels[1].quality', 'required'], ['topK', 'out_of_range']])
})

test('clock: manual routers advance, system-clock routers refuse', () => {
  const r = router()
  assert.equal(r.advanceMs(1_000), 1_000)
  assert.equal(r.nowMs(), 1_000)
  expectCode(() => new uoom.Router(channels()).advanceMs(1), 'UOOM_CONFLICT')
})
