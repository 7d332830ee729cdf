import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, expectCode } from './fixtures.mjs'

const manual = () => new uoom.Ledger({ manualClock: true, startMs: 0, slotMs: 60_000 })

test('reserve → commit moves units from pending to committed', () => {
  const l = manual()
  const change = l.setCapacity('c1', 10, 0)
  assert.equal(change.new, 10)
  assert.equal(change.balance.available, 10)
  const r = l.reserve('r1', 'c1', 4, 0, 1_000)
  assert.equal(r.id, 'r1')
  assert.equal(r.state, 'pending')
  assert.equal(r.expiresAtMs, 1_000)
  assert.deepEqual(l.balance('c1', 0), { capacity: 10, pending: 4, committed: 0, available: 6, overcommitted: 0 })
  const c = l.commit('r1', 3)
  assert.equal(c.state, 'committed')
  assert.equal(c.committed, 3)
  assert.equal(l.available('c1', 0), 7, 'a partial commit releases the rest')
  assert.equal(l.get('r1').committed, 3)
})

test('release and expiry through the manual clock give units back', () => {
  const l = manual()
  l.setCapacity('c1', 5, 0)
  l.reserve('a', 'c1', 2, 0, 500)
  l.reserve('b', 'c1', 2, 0, 10_000)
  assert.equal(l.release('b').state, 'released')
  assert.equal(l.available('c1', 0), 3)
  assert.equal(l.advanceMs(501), 501)
  assert.equal(l.nowMs(), 501)
  assert.equal(l.available('c1', 0), 5, 'balances reflect expiry as soon as the clock passes it')
  assert.equal(l.get('a').state, 'expired')
  assert.equal(l.expireDue(), 0)
})

test('refund gives a committed reservation\'s units back, once', () => {
  const l = manual()
  l.setCapacity('c1', 5, 0)
  l.reserve('o', 'c1', 4, 0, 1_000)
  l.commit('o', 3)
  assert.equal(l.available('c1', 0), 2)
  const r = l.refund('o')
  assert.equal(r.state, 'refunded')
  assert.equal(r.committed, 3)
  assert.equal(l.available('c1', 0), 5)
  assert.deepEqual(l.refund('o'), r)
  l.reserve('p', 'c1', 1, 0, 1_000)
  expectCode(() => l.refund('p'), 'UOOM_CONFLICT')
  expectCode(() => l.refund('nobody'), 'UOOM_NOT_FOUND')
})

test('idempotency: same id same contents returns the first result; other contents conflict', () => {
  const l = manual()
  l.setCapacity('c1', 5, 0)
  const first = l.reserve('r', 'c1', 2, 0, 1_000)
  assert.deepEqual(l.reserve('r', 'c1', 2, 0, 1_000), first)
  expectCode(() => l.reserve('r', 'c1', 3, 0, 1_000), 'UOOM_CONFLICT')
})

test('capacity, not-found and validation errors carry their codes', () => {
  const l = manual()
  l.setCapacity('c1', 2, 0)
  expectCode(() => l.reserve('big', 'c1', 3, 0, 1_000), 'UOOM_CAPACITY')
  expectCode(() => l.reserve('x', 'nowhere', 1, 0, 1_000), 'UOOM_NOT_FOUND')
  expectCode(() => l.balance('nowhere', 0), 'UOOM_NOT_FOUND')
  expectCode(() => l.commit('never-made'), 'UOOM_NOT_FOUND')
  expectCode(() => l.reserve('neg', 'c1', 1, 0, -5), 'UOOM_VALIDATION')
  expectCode(() => new uoom.Ledger({ slotMs: 0 }), 'UOOM_VALIDATION')
  assert.equal(l.available('nowhere', 0), 0)
})

test('reserveBatch is all-or-nothing and names the failing item', () => {
  const l = manual()
  l.setCapacity('a', 5, 0)
  l.setCapacity('b', 1, 0)
  const err = expectCode(
    () => l.reserveBatch('batch', [{ channel: 'a', slot: 0, units: 2 }, { channel: 'b', slot: 0, units: 2 }], 1_000),
    'UOOM_CAPACITY',
  )
  assert.match(err.message, /items\[1\]|item 1/)
  assert.equal(l.available('a', 0), 5, 'nothing held after a failed batch')
  const legs = l.reserveBatch('ok', [{ channel: 'a', slot: 0, units: 2 }, { channel: 'b', slot: 0, units: 1 }], 1_000)
  assert.deepEqual(legs.map((r) => [r.id, r.channel, r.units]), [['ok#0', 'a', 2], ['ok#1', 'b', 1]])
  // The view of uoom::wire::ReservationView, camelCased: the same fields as Python's.
  assert.deepEqual(Object.keys(legs[0]).sort(), [
    'batch', 'channel', 'committed', 'createdAtMs', 'expiresAtMs', 'id', 'ledgerId', 'slot', 'state', 'units',
  ])
  assert.equal(legs[0].batch, legs[1].batch)
  assert.notEqual(legs[0].ledgerId, legs[1].ledgerId)
  assert.ok(l.commitBatch('ok').every((r) => r.state === 'committed'))
  l.reserveBatch('rel', [{ channel: 'a', slot: 0, units: 1 }], 1_000)
  assert.ok(l.releaseBatch('rel').every((r) => r.state === 'released'))
  assert.equal(l.available('a', 0), 3)
})

test('reserveMany reports each entry without throwing', () => {
  const l = manual()
  l.setCapacity('c1', 3, 0)
  const out = l.reserveMany([
    { id: 'm1', channel: 'c1', slot: 0, units: 2, ttlMs: 1_000 },
    { id: 'm2', channel: 'c1', slot: 0, units: 2, ttlMs: 1_000 },
    { id: 'm3', channel: 'zz', slot: 0, units: 1, ttlMs: 1_000 },
  ])
  assert.deepEqual(out.map((r) => r.ok), [true, false, false])
  assert.equal(out[0].reservation.units, 2)
  assert.equal(out[1].error.code, 'UOOM_CAPACITY')
  assert.equal(out[2].error.code, 'UOOM_NOT_FOUND')
  const err = expectCode(
    () => l.reserveMany([{ id: 'e', channel: 'c1' }, { id: 'f', channel: 'c1', units: 0, ttl: 5 }]),
    'UOOM_VALIDATION',
  )
  assert.deepEqual(
    err.fieldErrors.map((e) => [e.field, e.code]),
    [['items[0].units', 'required'], ['items[1].ttl', 'unknown_field'], ['items[1].units', 'out_of_range']],
  )
})

test('setCapacity, reserve, balance: the same argument order as Python, slot and ttl optional', () => {
  const l = manual()
  assert.equal(l.setCapacity('c9', 4).slot, 0)
  assert.equal(l.reserve('q', 'c9', 3).expiresAtMs, 30_000)
  assert.equal(l.balance('c9').pending, 3)
  assert.equal(l.available('c9'), 1)
  assert.equal(l.setCapacity('c9', 2, 5).slot, 5)
})

test('lowering capacity below what is held reports over-commitment', () => {
  const l = manual()
  l.setCapacity('c1', 5, 0)
  l.reserve('r', 'c1', 4, 0, 1_000)
  const change = l.setCapacity('c1', 2, 0)
  assert.equal(change.old, 5)
  assert.equal(change.overcommitted, 2)
  assert.equal(l.balance('c1', 0).available, 0)
})

test('slots, utilisation and events', () => {
  const l = manual()
  assert.equal(l.slotOf(59_999), 0)
  assert.equal(l.slotOf(60_000), 1)
  assert.equal(l.currentSlot(), 0)
  l.setCapacity('c1', 10, 0)
  l.reserve('r', 'c1', 5, 0, 1_000)
  assert.deepEqual(l.utilisation(), [{ channel: 'c1', slot: 0, utilisation: 0.5 }])
  const types = l.drainEvents().map((e) => e.type)
  assert.deepEqual(types.slice(0, 2), ['CapacityUpdated', 'CapacityReserved'])
  assert.deepEqual(l.drainEvents(), [], 'drained')
})

test('snapshot and restore keep balances and reservations', () => {
  const l = manual()
  l.setCapacity('c1', 10, 0)
  l.reserve('r', 'c1', 3, 0, 5_000)
  l.reserve('s', 'c1', 2, 0, 5_000)
  l.commit('s')
  const json = l.snapshot()
  const back = uoom.Ledger.restore(json, { manualClock: true, startMs: 0 })
  assert.deepEqual(back.balance('c1', 0), l.balance('c1', 0))
  assert.equal(back.commit('r').committed, 3)
  expectCode(() => uoom.Ledger.restore('{nope', {}), 'UOOM_VALIDATION')
})

test('the system clock cannot be advanced by hand', () => {
  const l = new uoom.Ledger()
  assert.ok(Math.abs(l.nowMs() - Date.now()) < 60_000)
  expectCode(() => l.advanceMs(10), 'UOOM_CONFLICT')
})
