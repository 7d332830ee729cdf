// Router.route() with a JavaScript gateway: every way a partner can answer,
// with the ledger's balances checked afterwards (no hold left behind).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, sample, channels, expectCode } from './fixtures.mjs'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A partner that records what it was asked and answers as `answer(req, n)` says. */
function partner(answer) {
  const p = {
    booked: [],
    cancelled: [],
    async book(req) {
      p.booked.push(req)
      return answer(req, p.booked.length)
    },
    async cancel(req) {
      p.cancelled.push(req)
    },
  }
  return p
}

const router = (gateway, opts = {}) =>
  new uoom.Router(channels(), { seed: 3, bookingTimeoutMs: 100, gateway, ...opts })

function assertNothingHeld(r) {
  for (const b of r.balances()) {
    assert.equal(b.pending, 0, `${b.channelId}: a hold was left behind`)
    assert.ok(b.committed <= b.capacity, `${b.channelId}: overbooked`)
  }
  assert.equal(r.inFlight(), 0)
}

test('route() returns a Promise and books through the gateway', async () => {
  const p = partner((req) => ({ reference: `REF-${req.channelId}` }))
  const r = router(p)
  const pending = r.route(sample(), 'k-1')
  assert.ok(pending instanceof Promise)
  const out = await pending
  assert.equal(out.status, 'CONFIRMED')
  assert.equal(out.bookingReference, `REF-${out.channel}`)
  const req = p.booked[0]
  assert.deepEqual(Object.keys(req).sort(), ['channelId', 'channelKind', 'order', 'orderId', 'units'])
  assert.equal(req.orderId, out.orderId)
  assert.equal(req.order.id, out.orderId)
  assert.equal(req.units, 1)
  assert.deepEqual(r.balances().map((b) => b.committed).reduce((a, b) => a + b), 1)
  const again = await r.route(sample(), 'k-1')
  assert.equal(again.replayed, true)
  assert.equal(p.booked.length, 1, 'a replay books nothing')
  assertNothingHeld(r)
})

test('route() without a gateway is a Promise over the simulated partners', async () => {
  const r = new uoom.Router(channels(), { seed: 3 })
  const out = await r.route(sample())
  assert.equal(out.status, 'CONFIRMED')
  await assert.rejects(r.route({}), (e) => e.code === 'UOOM_VALIDATION')
})

test('a rejecting book is partner_failed and the next channel is tried', async () => {
  const p = partner((req, n) => {
    if (n === 1) return Promise.reject(new Error('no courier free'))
    return { reference: 'second' }
  })
  const r = router(p)
  const out = await r.route(sample())
  assert.equal(out.status, 'CONFIRMED')
  assert.equal(out.attempts, 2)
  assert.equal(out.bookingReference, 'second')
  assert.notEqual(p.booked[0].channelId, p.booked[1].channelId)
  assert.equal(p.cancelled.length, 0, 'a refusal needs no cancel')
  assertNothingHeld(r)
})

test('a book that throws synchronously fails with its message', async () => {
  const gateway = { book() { throw new TypeError('bad partner config') }, async cancel() {} }
  const r = router(gateway)
  const out = await r.route(sample())
  assert.equal(out.status, 'FAILED')
  assert.equal(out.failure, 'partner_failed')
  assertNothingHeld(r)
})

test('a book that never settles is partner_timeout after bookingTimeoutMs, then cancelled', async () => {
  const p = partner(() => new Promise(() => {}))
  const r = router(p, { bookingTimeoutMs: 50 })
  const t0 = performance.now()
  const out = await r.route(sample())
  const took = performance.now() - t0
  assert.equal(out.status, 'FAILED')
  assert.equal(out.failure, 'partner_timeout')
  assert.ok(took >= 45, `gave up after ${took} ms`)
  await sleep(10)
  assert.equal(p.cancelled.length, p.booked.length, 'every timed-out booking is cancelled')
  assert.equal(p.cancelled[0].reference, undefined)
  assert.equal(p.cancelled[0].reason, 'partner_timeout')
  assertNothingHeld(r)
})

test('a malformed answer is partner_failed naming what is missing', async () => {
  for (const bad of [undefined, null, {}, { reference: 7 }, 'REF', { ref: 'x' }]) {
    const r = router(partner(() => bad), { topK: 1, fallbackAttempts: 0 })
    const out = await r.route(sample())
    assert.equal(out.status, 'FAILED', JSON.stringify(bad))
    assert.equal(out.failure, 'partner_failed')
    assertNothingHeld(r)
  }
})

test('a cancel that fails is reported as a warning; the hold is still released', async () => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const gateway = {
      book: () => new Promise(() => {}),
      cancel: async () => { throw new Error('partner API down') },
    }
    const r = router(gateway, { bookingTimeoutMs: 20, topK: 1, fallbackAttempts: 0 })
    const out = await r.route(sample())
    assert.equal(out.failure, 'partner_timeout')
    await sleep(20)
    assert.ok(warnings.some((w) => /partner API down/.test(w.message)), 'the failed cancel is logged')
    assertNothingHeld(r)
  } finally {
    process.off('warning', onWarning)
  }
})

test('10,000 concurrent routes all settle, none lost, counts add up', async () => {
  const chs = channels().map((c) => ({ ...c, capacity: 6_000 }))
  let n = 0
  const gateway = {
    async book(req) {
      n += 1
      await sleep(1 + (n % 7))
      if (n % 50 === 0) throw new Error('refused')
      return { reference: `R${n}` }
    },
    async cancel() {},
  }
  const r = new uoom.Router(chs, { seed: 5, gateway, bookingTimeoutMs: 2_000 })
  const outs = await Promise.all(Array.from({ length: 10_000 }, () => r.route(sample())))
  assert.equal(outs.length, 10_000)
  assert.equal(new Set(outs.map((o) => o.orderId)).size, 10_000)
  const confirmed = outs.filter((o) => o.status === 'CONFIRMED').length
  const failed = outs.filter((o) => o.status === 'FAILED').length
  assert.equal(confirmed + failed, 10_000)
  const committed = r.balances().reduce((a, b) => a + b.committed, 0)
  assert.equal(committed, confirmed, 'every confirmed order holds one committed unit')
  assert.ok(confirmed > 9_500, `${confirmed} confirmed`)
  assertNothingHeld(r)
})

test('a gateway router refuses the synchronous façade and bad gateways', () => {
  expectCode(() => new uoom.Router(channels(), { gateway: { book: 1 } }), 'UOOM_VALIDATION')
  expectCode(() => new uoom.Router(channels(), { gateway: { book() {} }, batchWindowMs: 10 }), 'UOOM_VALIDATION')
  const r = router(partner(() => ({ reference: 'x' })))
  expectCode(() => r.submit(sample()), 'UOOM_CONFLICT')
})

test('begin/resume: the step protocol under route(), driven by hand', () => {
  const r = new uoom.Router(channels(), { seed: 3, bookingTimeoutMs: 100, gateway: partner(() => ({ reference: 'x' })) })
  const step = r.begin(sample(), 'k-by-hand')
  assert.deepEqual(step.cancels, [])
  assert.equal(step.outcome, undefined)
  const { ticket, orderId, channelId, units, orderJson, timeoutMs } = step.book
  assert.equal(timeoutMs, 100)
  assert.ok(units >= 1)
  assert.equal(JSON.parse(orderJson).id, orderId)
  assert.equal(r.inFlight(), 1)
  // A refusal moves the saga on to the next candidate; a reference confirms.
  const next = r.resume(ticket, { error: 'no drivers' })
  assert.ok(next.book, 'the next candidate is booked')
  assert.notEqual(next.book.channelId, channelId)
  const done = r.resume(next.book.ticket, { reference: 'P-7' })
  assert.equal(done.outcome.status, 'CONFIRMED')
  assert.equal(done.outcome.bookingReference, 'P-7')
  expectCode(() => r.resume(next.book.ticket, { reference: 'again' }), 'UOOM_NOT_FOUND')
  expectCode(() => r.resume(1.5, { reference: 'x' }), 'UOOM_VALIDATION')
  assertNothingHeld(r)
})
