import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, channels, expectCode } from './fixtures.mjs'

test('validateChannels accepts a good catalogue and counts it', () => {
  assert.equal(uoom.validateChannels(channels()), 2)
  const spec = { id: 'x', kind: 'dark_store', lat: 0, lon: 0, radiusKm: 5, baseCost: 1, costPerKm: 0.5, prepMin: 10, speedKmh: 25, quality: 0.9 }
  assert.equal(uoom.validateChannels([spec]), 1, 'capacity, vehicles and status take their defaults')
  assert.deepEqual(uoom.validate('channel', spec), { ...spec, capacity: 0, vehicles: ['bike'], status: 'up' })
})

test('the fields that decide ranking are required, unknown keys refused', () => {
  const err = expectCode(
    () => uoom.validateChannels([{ id: 'x', kind: 'dark_store', lat: 0, lon: 0, radiusKm: 5, speed_kmh: 20 }]),
    'UOOM_VALIDATION',
  )
  assert.deepEqual(
    err.fieldErrors.map((e) => [e.field, e.code]),
    [
      ['channels[0].speed_kmh', 'unknown_field'],
      ['channels[0].baseCost', 'required'],
      ['channels[0].costPerKm', 'required'],
      ['channels[0].prepMin', 'required'],
      ['channels[0].speedKmh', 'required'],
      ['channels[0].quality', 'required'],
    ],
  )
})

test('validateChannels lists every problem with camelCase paths', () => {
  const cs = channels()
  cs[0].kind = 'spaceship'
  cs[1].speedKmh = -1
  cs[1].vehicles = ['bike', 'rocket']
  cs.push({ ...channels()[0] })
  const err = expectCode(() => uoom.validateChannels(cs), 'UOOM_VALIDATION')
  const fields = err.fieldErrors.map((e) => e.field)
  assert.ok(fields.includes('channels[0].kind'), fields.join())
  assert.ok(fields.includes('channels[1].speedKmh'), fields.join())
  assert.ok(fields.includes('channels[1].vehicles[1]'), fields.join())
  assert.ok(fields.includes('channels[2].id'), 'duplicate id: ' + fields.join())
})
