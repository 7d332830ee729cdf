import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, channels, expectCode } from './fixtures.mjs'

const AT = { lat: 40.7128, lon: -74.006 }
const ranker = (opts = {}) => new uoom.Ranker(channels(), { manualClock: true, ...opts })

function withHeadroom(r) {
  r.updateHeadroom('k1', 3, 3)
  r.updateHeadroom('d1', 2, 2)
  return r
}

test('rank ranks eligible channels best first with each criterion contribution', () => {
  const r = withHeadroom(ranker())
  const top = r.rank({ ...AT, vehicle: 'bike', units: 1 }, 5)
  assert.equal(top.length, 2)
  assert.ok(top[0].score >= top[1].score)
  for (const t of top) {
    const c = t.contributions
    assert.ok(Math.abs(c.capacity + c.quality + c.latency + c.cost - t.score) < 1e-9)
    assert.ok(t.distanceKm > 0 && t.etaMin > 0 && t.cost > 0)
    assert.equal(channels()[t.index].id, t.channel)
  }
  assert.deepEqual(top.map((t) => t.channel).sort(), ['d1', 'k1'])
  assert.equal(r.rank({ ...AT }, 1).length, 1)
  assert.deepEqual(r.rank(AT), r.rank(AT, 5), 'k defaults to 5')
})

test('filters: vehicle, units and health exclude channels, and explain says why', () => {
  const r = withHeadroom(ranker())
  const vans = r.rank({ ...AT, vehicle: 'van', units: 1 }, 5)
  assert.deepEqual(vans.map((t) => t.channel), ['d1'], 'only d1 has vans')
  r.updateHealth('d1', 'down')
  const ex = r.explain({ ...AT, vehicle: 'van', units: 1 }, 5)
  assert.equal(ex.ranked.length, 0)
  assert.equal(ex.eligible, 0)
  const reasons = Object.fromEntries(ex.excluded.map((x) => [x.channel, x.reason]))
  assert.equal(reasons.k1, 'vehicle_mismatch')
  assert.equal(reasons.d1, 'channel_down')
  const tooBig = r.explain({ ...AT, vehicle: 'bike', units: 3 }, 5)
  assert.ok(Math.abs(tooBig.weights.capacity + tooBig.weights.quality + tooBig.weights.latency + tooBig.weights.cost - 1) < 1e-9)
  r.setBreakerOpen('k1', true)
  assert.equal(r.signals('k1').breakerOpen, true)
  assert.deepEqual(r.rank({ ...AT }, 5), [])
})

test('signals carry their ages; stale ones follow the policy', () => {
  const r = withHeadroom(ranker({ maxSignalAgeMs: 1_000 }))
  assert.equal(r.rank(AT, 5).length, 2)
  r.advanceMs(5_000)
  assert.equal(r.nowMs(), 5_000)
  const ex = r.explain(AT, 5)
  assert.ok(ex.excluded.every((x) => x.reason === 'stale_signals'), JSON.stringify(ex.excluded))
  r.updateHeadroom('k1', 3, 3)
  r.updateQuality('k1', 0.5)
  r.updateHealth('k1', 'up')
  const s = r.signals('k1')
  assert.deepEqual([s.headroomAt, s.qualityAt, s.healthAt, s.quality, s.health], [5_000, 5_000, 5_000, 0.5, 'up'])
  assert.deepEqual(r.rank(AT, 5).map((t) => t.channel), ['k1'])
  const lenient = withHeadroom(ranker({ maxSignalAgeMs: 1_000, stalePolicy: 'zero_score' }))
  lenient.advanceMs(5_000)
  assert.equal(lenient.rank(AT, 5).length, 2, 'zero_score keeps stale channels eligible')
})

test('per-query weights change the order', () => {
  const r = withHeadroom(ranker())
  const cheap = r.rank({ ...AT, weights: { capacity: 0, quality: 0, latency: 0, cost: 1 } }, 2)
  const good = r.rank({ ...AT, weights: { capacity: 0, quality: 1, latency: 0, cost: 0 } }, 2)
  assert.equal(cheap[0].channel, 'k1', 'k1 is cheaper (base 2 vs 3)')
  assert.equal(good[0].channel, 'k1', 'k1 has the better quality')
  assert.equal(good[0].contributions.cost, 0)
})

test('rankMany answers a batch and names a bad query', () => {
  const r = withHeadroom(ranker())
  const out = r.rankMany([AT, { ...AT, vehicle: 'van' }], 3)
  assert.equal(out.length, 2)
  assert.equal(out[1][0].channel, 'd1')
  const err = expectCode(() => r.rankMany([AT, { ...AT, units: 0 }], 3), 'UOOM_VALIDATION')
  assert.equal(err.fieldErrors[0].field, 'queries[1].units')
})

test('syncHeadroom copies availability from a ledger', () => {
  const r = ranker()
  const l = new uoom.Ledger({ manualClock: true })
  l.setCapacity('k1', 10, 0)
  l.reserve('x', 'k1', 4, 0, 1_000)
  assert.equal(r.syncHeadroom(l, 0), 1)
  const s = r.signals('k1')
  assert.deepEqual([s.available, s.capacity], [6, 10])
})

test('errors: unknown channels, bad values, bad options', () => {
  const r = ranker()
  expectCode(() => r.updateHeadroom('nope', 1, 1), 'UOOM_NOT_FOUND')
  expectCode(() => r.signals('nope'), 'UOOM_NOT_FOUND')
  expectCode(() => r.updateQuality('k1', 2), 'UOOM_VALIDATION')
  expectCode(() => r.updateHealth('k1', 'sleepy'), 'UOOM_VALIDATION')
  expectCode(() => r.rank({ ...AT, vehicle: 'rocket' }, 3), 'UOOM_VALIDATION')
  const err = expectCode(() => r.rank({ lat: 95, lon: 0, deadlineMin: -1 }, 3), 'UOOM_VALIDATION')
  const fields = err.fieldErrors.map((e) => e.field)
  assert.ok(fields.includes('location') && fields.includes('deadlineMin'), fields.join())
  expectCode(() => new uoom.Ranker(channels(), { stalePolicy: 'maybe' }), 'UOOM_VALIDATION')
  expectCode(() => new uoom.Ranker([{ id: 'x', kind: 'nope', lat: 0, lon: 0 }]), 'UOOM_VALIDATION')
  expectCode(() => new uoom.Ranker(channels()).advanceMs(1), 'UOOM_CONFLICT')
})
