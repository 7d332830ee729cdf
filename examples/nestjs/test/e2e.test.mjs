// End to end: the NestJS app on 127.0.0.1 (a free port), real HTTP requests,
// booking each order with a partner's HTTP API that this test runs (20 ms
// latency, one channel refusing every booking).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** The partner: answers `{reference}` after 20 ms; refuses on `REFUSING`. */
const REFUSING = 'nyc-kitchen-soho'
const partnerLog = { booked: [], refused: [], cancelled: [] }
const partner = http.createServer((req, res) => {
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    const msg = JSON.parse(body || '{}')
    setTimeout(() => {
      if (req.url === '/bookings' && msg.channelId === REFUSING) {
        partnerLog.refused.push(msg)
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no courier free"}')
      } else if (req.url === '/bookings') {
        partnerLog.booked.push(msg)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ reference: `BK-${msg.channelId}-${msg.orderId}` }))
      } else {
        partnerLog.cancelled.push(msg)
        res.writeHead(204).end()
      }
    }, 20)
  })
})
await new Promise((resolve) => partner.listen(0, '127.0.0.1', resolve))
process.env.PARTNER_URL = `http://127.0.0.1:${partner.address().port}`
const { createApp } = require('../dist/app.js')

const SAMPLE = {
  customerId: '123e4567-e89b-12d3-a456-426614174000',
  restaurantId: '550e8400-e29b-41d4-a716-446655440001',
  items: [{ itemId: 'item1', name: 'Pizza', quantity: 1, unitPrice: 15.99 }],
  deliveryAddress: {
    street: '123 Main St', city: 'New York', postalCode: '10001',
    latitude: 40.7128, longitude: -74.006,
  },
}

let app
let base

before(async () => {
  app = await createApp()
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address()
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  await app.close()
  partner.close()
})

async function call(method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, body: type.includes('json') ? JSON.parse(text) : text }
}

test('POST /orders routes the sample order and GET /orders/:id/status reads it back', async () => {
  const created = await call('POST', '/orders', SAMPLE)
  assert.equal(created.status, 201)
  assert.equal(created.body.status, 'CONFIRMED')
  assert.match(created.body.orderId, /^[0-9a-f-]{36}$/)
  assert.ok(created.body.channel.startsWith('nyc-'))
  assert.equal(created.body.decision, 'realtime')
  // Booked with the partner over HTTP: its reference comes back.
  assert.equal(created.body.bookingReference, `BK-${created.body.channel}-${created.body.orderId}`)
  assert.ok(partnerLog.booked.some((b) => b.orderId === created.body.orderId))

  const status = await call('GET', `/orders/${created.body.orderId}/status`)
  assert.equal(status.status, 200)
  assert.equal(status.body.orderId, created.body.orderId)
  assert.equal(status.body.status, 'CONFIRMED')
  assert.equal(status.body.channel, created.body.channel)
  assert.equal(status.body.customerId, SAMPLE.customerId)
})

test('an invalid order is 400 with every field error', async () => {
  const bad = structuredClone(SAMPLE)
  bad.customerId = 'not-a-uuid'
  bad.items[0].quantity = 0
  bad.deliveryAddress.latitude = 95
  const res = await call('POST', '/orders', bad)
  assert.equal(res.status, 400)
  assert.equal(res.body.code, 'UOOM_VALIDATION')
  const fields = res.body.errors.map((e) => e.field).sort()
  assert.deepEqual(fields, ['customerId', 'deliveryAddress.latitude', 'items[0].quantity'])
  for (const e of res.body.errors) assert.ok(e.code && e.message)
})

test('the same Idempotency-Key returns the first outcome', async () => {
  const first = await call('POST', '/orders', SAMPLE, { 'idempotency-key': 'k-42' })
  const again = await call('POST', '/orders', SAMPLE, { 'idempotency-key': 'k-42' })
  assert.equal(first.status, 201)
  assert.equal(again.status, 201)
  assert.equal(again.body.orderId, first.body.orderId)
  assert.equal(first.body.replayed, false)
  assert.equal(again.body.replayed, true)
})

test('an unknown order is 404, a malformed id 400', async () => {
  const missing = await call('GET', '/orders/00000000-0000-4000-8000-000000000000/status')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.code, 'UOOM_NOT_FOUND')
  const malformed = await call('GET', '/orders/nope/status')
  assert.equal(malformed.status, 400)
  assert.equal(malformed.body.code, 'UOOM_VALIDATION')
  assert.equal(malformed.body.errors[0].field, 'orderId')
})

test('lifecycle moves: a legal one is 200, an illegal one 409 and changes nothing', async () => {
  const created = await call('POST', '/orders', SAMPLE)
  const id = created.body.orderId
  const illegal = await call('POST', `/orders/${id}/status`, { status: 'DELIVERED' })
  assert.equal(illegal.status, 409)
  assert.equal(illegal.body.code, 'UOOM_CONFLICT')
  assert.equal((await call('GET', `/orders/${id}/status`)).body.status, 'CONFIRMED')
  const legal = await call('POST', `/orders/${id}/status`, { status: 'PREPARING' })
  assert.equal(legal.status, 200)
  assert.equal(legal.body.status, 'PREPARING')
})

test('a refusing partner is passed over; concurrent orders all settle over HTTP', async () => {
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const o = structuredClone(SAMPLE)
      o.customerId = `123e4567-e89b-12d3-a456-${String(i).padStart(12, '0')}`
      return call('POST', '/orders', o)
    }),
  )
  for (const r of results) {
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.notEqual(r.body.channel, REFUSING, 'the refusing channel never confirms')
  }
  assert.ok(partnerLog.refused.length > 0, 'the refusing channel was tried')
  const retried = results.filter((r) => r.body.attempts > 1)
  assert.ok(retried.length > 0, 'a refusal moved on to the next channel')
})

test('an order nobody can serve is 422 with the reason', async () => {
  const far = structuredClone(SAMPLE)
  far.deliveryAddress.latitude = 51.5
  far.deliveryAddress.longitude = -0.12
  const res = await call('POST', '/orders', far)
  assert.equal(res.status, 422)
  assert.equal(res.body.status, 'FAILED')
  assert.equal('channel' in res.body, false, 'no channel')
  assert.equal(res.body.failure, 'no_feasible_channel')
})

test('metrics are Prometheus text; other errors keep Nest defaults', async () => {
  const m = await call('GET', '/metrics')
  assert.equal(m.status, 200)
  assert.match(m.body, /order_processing_duration/)
  const unknownRoute = await call('GET', '/nowhere')
  assert.equal(unknownRoute.status, 404)
  assert.equal(unknownRoute.body.message, 'Cannot GET /nowhere')
})

test('/health is up; /ready is up while the router takes orders', async () => {
  const live = await call('GET', '/health')
  assert.equal(live.status, 200)
  assert.equal(live.body.status, 'ok')
  const ready = await call('GET', '/ready')
  assert.equal(ready.status, 200)
  assert.equal(ready.body.info.routing.status, 'up')
})

test('SIGTERM drains: /ready turns 503, new orders are refused, the one booking finishes, then the process exits', async () => {
  const { spawn } = await import('node:child_process')
  // A partner that takes 600 ms, so the order is mid-booking at SIGTERM
  // (sent once the partner has the booking request).
  let booking
  const asked = new Promise((resolve) => (booking = resolve))
  const slow = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => booking())
    req.on('end', () => setTimeout(() => {
      const msg = JSON.parse(body || '{}')
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ reference: `SLOW-${msg.orderId}` }))
    }, 600))
  })
  await new Promise((resolve) => slow.listen(0, '127.0.0.1', resolve))
  const child = spawn(process.execPath, [new URL('../dist/main.js', import.meta.url).pathname], {
    env: { ...process.env, PORT: '0', PARTNER_URL: `http://127.0.0.1:${slow.address().port}`, DRAIN_TIMEOUT_MS: '5000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const url = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (c) => {
        out += c
        const m = out.match(/listening on (http:\/\/\S+)/)
        if (m) resolve(m[1])
      })
      child.on('exit', (code) => reject(new Error(`exited early: ${code}`)))
    })
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })))
    const post = (body) => fetch(`${url}/orders`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    const inFlight = post(SAMPLE).then(async (r) => ({ status: r.status, body: await r.json(), at: Date.now() }))
    await asked
    child.kill('SIGTERM')
    // The signal is handled on the service's loop: poll until it drains.
    let ready
    for (let i = 0; i < 100; i++) {
      ready = await fetch(`${url}/ready`)
      if (ready.status === 503) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(ready.status, 503, 'not ready while draining')
    const refused = await post(SAMPLE)
    assert.equal(refused.status, 503, 'a new order goes to another instance')
    const done = await inFlight
    assert.equal(done.status, 201)
    assert.equal(done.body.status, 'CONFIRMED')
    assert.match(done.body.bookingReference, /^SLOW-/)
    const end = await exited
    assert.ok(end.at >= done.at, 'the process outlived its last order')
    assert.ok(end.code === 0 || end.signal === 'SIGTERM', `clean exit: ${JSON.stringify(end)}`)
  } finally {
    child.kill('SIGKILL')
    slow.close()
  }
})
