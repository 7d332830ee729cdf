// Per-call cost of routing one order from Node (goal: <= 50 us per order).
//   node bench/route.mjs [--orders N] [--json]
// Measures, on one Router with 50 channels and ample capacity (manual clock,
// so the run is the engine and the boundary, not partners):
//   - submit(object): JS object -> Rust values, validate, rank, reserve, book, confirm, outcome -> JS
//   - submit(JSON text): the same from an unparsed body (what an HTTP server has)
//   - submitMany(batch of 100): per-order cost when a batch crosses once
//   - validateOrder(object): the conversion + validation alone
// Wall time per call (mean, p50, p99) and the process's CPU time per order.
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const uoom = require('..')
const args = process.argv.slice(2)
const N = Number(args[args.indexOf('--orders') + 1]) || 20000
const JSON_OUT = args.includes('--json')

function channels(n) {
  const out = []
  for (let i = 0; i < n; i++) {
    const a = (i / n) * 2 * Math.PI
    out.push({
      id: `ch-${i}`, kind: i % 4 === 0 ? 'external_partner' : 'dark_store',
      lat: 40.7128 + 0.03 * Math.cos(a), lon: -74.006 + 0.03 * Math.sin(a),
      radiusKm: 8, capacity: 10_000_000, vehicles: ['bike', 'car', 'van'],
      baseCost: 2 + (i % 5) * 0.3, costPerKm: 0.6, prepMin: 8 + (i % 7), speedKmh: 20, quality: 0.8 + (i % 10) / 60,
    })
  }
  return out
}

function order(i) {
  return {
    customerId: '123e4567-e89b-12d3-a456-426614174000',
    items: [{ itemId: 'item1', name: 'Pizza', quantity: 1 + (i % 3), unitPrice: 15.99 }],
    deliveryAddress: {
      street: '123 Main St', city: 'New York', postalCode: '10001',
      latitude: 40.7128 + ((i % 17) - 8) * 0.001, longitude: -74.006 + ((i % 13) - 6) * 0.001,
    },
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function measure(name, n, fn, perCall = 1) {
  for (let i = 0; i < Math.min(2000, n); i++) fn(i) // warm-up
  const lat = new Float64Array(n)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const s = performance.now()
    fn(i)
    lat[i] = (performance.now() - s) * 1000
  }
  const total = (performance.now() - t0) * 1000
  const cpu = process.cpuUsage(cpu0)
  lat.sort()
  return {
    name,
    calls: n,
    orders_per_call: perCall,
    mean_us_per_order: total / n / perCall,
    // CPU time of the process (all threads) per order: unlike wall time, not
    // inflated when other processes take the cores.
    cpu_us_per_order: (cpu.user + cpu.system) / n / perCall,
    p50_us: pct(lat, 50) / perCall,
    p99_us: pct(lat, 99) / perCall,
  }
}

const orders = Array.from({ length: 1000 }, (_, i) => order(i))
const texts = orders.map((o) => JSON.stringify(o))
const mk = () => new uoom.Router(channels(50), { manualClock: true, seed: 1 })

// The engine's own wall time per order (its order_processing_duration
// histogram, submit to outcome inside Rust): what is left is the boundary.
function engineUs(router) {
  const m = router.metrics()
  const sum = Number(/order_processing_duration_seconds_sum ([0-9.e+-]+)/.exec(m)[1])
  const count = Number(/order_processing_duration_seconds_count ([0-9]+)/.exec(m)[1])
  return (sum / count) * 1e6
}

const results = []
let r = mk()
results.push({ ...measure('submit(object)', N, (i) => r.submit(orders[i % 1000])), engine_us_per_order: engineUs(r) })
r = mk()
results.push({ ...measure('submit(json text)', N, (i) => r.submit(texts[i % 1000])), engine_us_per_order: engineUs(r) })
r = mk()
const batch = orders.slice(0, 100).map((request) => ({ request }))
results.push({ ...measure('submitMany(100)', Math.max(20, N / 100), () => r.submitMany(batch), 100), engine_us_per_order: engineUs(r) })
results.push(measure('validateOrder(object)', N, (i) => uoom.validateOrder(orders[i % 1000])))
const check = mk().submit(orders[0])
if (check.status !== 'CONFIRMED') throw new Error(`bench router did not confirm: ${JSON.stringify(check)}`)

if (JSON_OUT) {
  console.log(JSON.stringify({ node: process.version, results }))
} else {
  console.log(`node ${process.version}, ${N} orders per single-order case, 50 channels`)
  console.log('case                     mean us/order   cpu us/order   p50 us   p99 us   engine us/order')
  for (const x of results) {
    console.log(
      `${x.name.padEnd(24)} ${x.mean_us_per_order.toFixed(2).padStart(13)} ${x.cpu_us_per_order.toFixed(2).padStart(14)} ${x.p50_us.toFixed(2).padStart(8)} ${x.p99_us.toFixed(2).padStart(8)} ${x.engine_us_per_order === undefined ? '' : x.engine_us_per_order.toFixed(2).padStart(17)}`,
    )
  }
}
