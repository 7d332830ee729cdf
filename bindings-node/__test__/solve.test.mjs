import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { uoom, tinyInstance, expectCode } from './fixtures.mjs'

// The repository's benchmark instances (format: docs/bench-format.md).
const DATA = fileURLToPath(new URL('../../benches/instances/', import.meta.url))

function checkFeasible(inst, sol) {
  const used = new Map()
  const units = new Map(inst.orders.map((o) => [o.id, o.units]))
  const cap = new Map(inst.channels.map((c) => [c.id, c.capacity]))
  const seen = new Set()
  for (const a of sol.assignments) {
    assert.ok(!seen.has(a.order), `order ${a.order} assigned twice`)
    seen.add(a.order)
    used.set(a.channel, (used.get(a.channel) ?? 0) + units.get(a.order))
  }
  for (const [c, u] of used) assert.ok(u <= cap.get(c), `channel ${c} over capacity`)
  assert.equal(sol.assignments.length + sol.unassigned.length, inst.orders.length)
}

test('solve resolves to the spec solution shape, off the event loop', async () => {
  const inst = tinyInstance()
  const pending = uoom.solve(inst, { timeLimitMs: 50 })
  assert.ok(pending instanceof Promise)
  const sol = await pending
  assert.equal(sol.instance, 'tiny')
  assert.ok(Array.isArray(sol.assignments))
  assert.deepEqual(sol.unassigned, ['o2'], 'o2 is hundreds of km away')
  assert.equal(typeof sol.objective, 'number')
  assert.equal(typeof sol.solve_ms, 'number')
  assert.ok(['optimal', 'improved', 'greedy', 'fallback'].includes(sol.method))
  checkFeasible(inst, sol)
})

test('solveSync gives the same answer as solve (deterministic)', async () => {
  const inst = tinyInstance()
  const a = uoom.solveSync(inst, { timeLimitMs: 50 })
  const b = await uoom.solve(inst, { timeLimitMs: 50 })
  assert.deepEqual(a.assignments, b.assignments)
  assert.equal(a.objective, b.objective)
})

test('JSON text and Buffers are accepted as instances', async () => {
  const text = JSON.stringify(tinyInstance())
  const a = uoom.solveSync(text)
  const b = await uoom.solve(Buffer.from(text))
  assert.deepEqual(a.assignments, b.assignments)
})

test('exact mode proves optimality and explain says why', async () => {
  const sol = await uoom.solve(tinyInstance(), { exact: true, explain: true })
  assert.equal(sol.method, 'optimal')
  assert.ok(sol.gap === undefined || sol.gap === null || sol.gap <= 1e-6)
  const ex = sol.explanations
  assert.equal(ex.assigned.length, sol.assignments.length)
  assert.equal(ex.unassigned.length, 1)
  assert.equal(ex.unassigned[0].order, 'o2')
  assert.equal(ex.unassigned[0].reason, 'no_channel_in_radius')
  for (const a of ex.assigned) {
    assert.equal(typeof a.criteria.cost, 'number')
  }
})

test('a bad instance rejects with UOOM_VALIDATION naming the culprit', async () => {
  const inst = tinyInstance()
  inst.orders[1].units = -3
  inst.channels[0].vehicles = ['rocket']
  await assert.rejects(uoom.solve(inst), (err) => {
    expectCode(err, 'UOOM_VALIDATION')
    const fields = err.fieldErrors.map((e) => e.field)
    assert.ok(fields.some((f) => f.startsWith('orders[1].units')), fields.join())
    assert.ok(fields.some((f) => f.startsWith('channels[0].vehicles')), fields.join())
    return true
  })
  expectCode(() => uoom.solveSync(inst), 'UOOM_VALIDATION')
  expectCode(() => uoom.solveSync('not json'), 'UOOM_VALIDATION')
})

test('the event loop keeps running while a batch solves', async () => {
  const inst = readFileSync(DATA + 'b-m-0.json', 'utf8')
  let settled = false
  let loopRanDuringSolve = false
  setImmediate(() => {
    loopRanDuringSolve = !settled
  })
  const sol = await uoom.solve(inst, { timeLimitMs: 100 })
  settled = true
  assert.ok(sol.assignments.length > 0)
  assert.ok(loopRanDuringSolve, 'a setImmediate callback ran before the solve finished')
})
