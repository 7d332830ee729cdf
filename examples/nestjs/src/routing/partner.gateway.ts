import type { BookingRequest, CancelRequest, Gateway } from 'uoom'

/**
 * The fulfillment partners' booking API over HTTP, as uoom's gateway:
 * `POST {base}/bookings` answers `{reference}`; `POST {base}/cancellations`
 * takes back a booking uoom gave up. A non-2xx answer is a refusal (the
 * router then tries the next channel); uoom itself cuts a booking at its
 * `bookingTimeoutMs` and cancels it.
 */
export function httpPartnerGateway(base: string): Gateway {
  const url = base.replace(/\/+$/, '')
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  return {
    async book(req: BookingRequest) {
      const res = await post('/bookings', {
        orderId: req.orderId,
        channelId: req.channelId,
        channelKind: req.channelKind,
        units: req.units,
      })
      if (!res.ok) throw new Error(`partner answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as { reference: string }
    },
    async cancel(req: CancelRequest) {
      const res = await post('/cancellations', req)
      if (!res.ok) throw new Error(`partner answered ${res.status}`)
    },
  }
}
