// router.route() paced at RPS orders/s for SECONDS through a JS gateway whose
// book resolves after PARTNER_MS (a timer), or over HTTP when PARTNER_URL
// names a partner's booking API (e.g. `uoom-example-partner`), through a
// keep-alive agent with at most SOCKETS connections (default 256): without a
// bound, every booking in flight opens its own socket and a 5,000/s run runs
// out of file descriptors.
// Prints one JSON line: latency from an order's scheduled arrival to its
// outcome, event-loop delay (perf_hooks.monitorEventLoopDelay) and RSS.
//
//   node bench/route_async.mjs                       # 5,000/s, 10 s, 50 ms timer partner
//   PARTNER_URL=http://127.0.0.1:8081 node bench/route_async.mjs   # a real partner over loopback HTTP
//   BASELINE=1 ...                                   # the same bookings without the router: the host's own cost
import http from 'node:http'
import { createRequire } from 'node:module'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const uoom = require('..')

const RPS = Number(process.env.RPS ?? 5000)
const SECONDS = Number(process.env.SECONDS ?? 10)
const PARTNER_MS = Number(process.env.PARTNER_MS ?? 50)
const PARTNER_URL = process.env.PARTNER_URL

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const timerGateway = {
  async book(req) {
    await sleep(PARTNER_MS)
    return { reference: `BK-${req.orderId}` }
  },
  async cancel() {},
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(process.env.SOCKETS ?? 256) })
const post = (path, body) =>
  new Promise((resolve, reject) => {
    const data = JSON.stringify(body)
    const req = http.request(`${PARTNER_URL}${path}`, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        if (res.statusCode >= 300) reject(new Error(`partner answered ${res.statusCode}: ${text}`))
        else resolve(text ? JSON.parse(text) : undefined)
      })
    })
    req.on('error', reject)
    req.end(data)
  })

const httpGateway = {
  book: (req) => post('/bookings', { orderId: req.orderId, channelId: req.channelId, channelKind: req.channelKind, units: req.units }),
  async cancel(req) { await post('/cancellations', req) },
}

const channels = [0, 1, 2, 3, 4].map((i) => ({
  id: `c${i}`, kind: 'external_partner', lat: 40.71 + 0.005 * i, lon: -74.0, radiusKm: 15,
  capacity: 1_000_000, vehicles: ['bike', 'car'], baseCost: 2, costPerKm: 0.5, prepMin: 10,
  speedKmh: 20, quality: 0.9,
}))
const gateway = PARTNER_URL ? httpGateway : timerGateway
const BASELINE = process.env.BASELINE === '1'
const router = new uoom.Router(channels, { gateway, bookingTimeoutMs: 2000 })
// The baseline books each order with the first channel straight away: what
// the host pays for its partner calls alone, to compare the router against.
const route = BASELINE
  ? (o, i) => gateway.book({ orderId: `o-${i}`, channelId: 'c0', channelKind: 'external_partner', units: 1, order: o })
    .then(() => ({ status: 'CONFIRMED' }), () => ({ status: 'FAILED' }))
  : (o) => router.route(o)

const order = (i) => ({
  customerId: `123e4567-e89b-12d3-a456-${String(i).padStart(12, '0')}`,
  items: [{ itemId: 'i1', name: 'Pizza', quantity: 1, unitPrice: 15.99 }],
  deliveryAddress: { street: '1 Main St', city: 'New York', postalCode: '10001', latitude: 40.712, longitude: -74.006 },
})

const total = RPS * SECONDS
const lat = new Float64Array(total)
let done = 0
let confirmed = 0
let rssMax = 0
const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()
const t0 = performance.now()
const finished = new Promise((resolve) => {
  let i = 0
  const tick = () => {
    const now = performance.now()
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * RPS) + 1)
    for (; i < due; i++) {
      const scheduled = t0 + (i * 1000) / RPS
      route(order(i), i).then((o) => {
        lat[done++] = performance.now() - scheduled
        if (o.status === 'CONFIRMED') confirmed++
        if (done === total) resolve()
      })
    }
    rssMax = Math.max(rssMax, process.memoryUsage.rss())
    if (i < total) setTimeout(tick, 1)
  }
  tick()
})
await finished
loop.disable()
const sentFor = (performance.now() - t0) / 1000
lat.sort()
const pct = (p) => lat[Math.min(total - 1, Math.ceil(p * total) - 1)]
console.log(JSON.stringify({
  orders: total, confirmed, rps_target: RPS, seconds: SECONDS,
  partner: PARTNER_URL ? `http ${PARTNER_URL}` : `timer ${PARTNER_MS} ms`,
  mode: BASELINE ? 'baseline: gateway.book alone' : 'router.route',
  wall_s: +sentFor.toFixed(2),
  latency_ms: { p50: +pct(0.5).toFixed(2), p99: +pct(0.99).toFixed(2), max: +lat[total - 1].toFixed(2) },
  event_loop_delay_ms: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  rss_mb: +(rssMax / 2 ** 20).toFixed(1),
  node: process.version,
}))
