import http from 'node:http'
import https from 'node:https'
import type { BookingRequest, CancelRequest, Gateway } from 'uoom'

/**
 * The fulfillment partners' booking API over HTTP, as uoom's gateway:
 * `POST {base}/bookings` answers `{reference}`; `POST {base}/cancellations`
 * takes back a booking uoom gave up. A non-2xx answer is a refusal (the
 * router then tries the next channel); uoom itself cuts a booking at its
 * `bookingTimeoutMs` and cancels it.
 *
 * Connections are kept alive and capped at `maxSockets` (env
 * `PARTNER_MAX_SOCKETS`, default 256): at thousands of bookings a second
 * with a partner that takes tens of ms, one socket per booking in flight
 * runs the process out of file descriptors.
 */
export function httpPartnerGateway(base: string, maxSockets = Number(process.env.PARTNER_MAX_SOCKETS ?? 256)): Gateway {
  const url = new URL(base.replace(/\/+$/, ''))
  const client = url.protocol === 'https:' ? https : http
  const agent = new client.Agent({ keepAlive: true, maxSockets })
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const data = JSON.stringify(body)
      const req = client.request(
        new URL(url.pathname.replace(/\/$/, '') + path, url),
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(data)
    })
  return {
    async book(req: BookingRequest) {
      const res = await post('/bookings', {
        orderId: req.orderId,
        channelId: req.channelId,
        channelKind: req.channelKind,
        units: req.units,
      })
      if (res.status < 200 || res.status >= 300) throw new Error(`partner answered ${res.status}: ${res.text}`)
      return JSON.parse(res.text) as { reference: string }
    },
    async cancel(req: CancelRequest) {
      const res = await post('/cancellations', req)
      if (res.status < 200 || res.status >= 300) throw new Error(`partner answered ${res.status}`)
    },
  }
}
