import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uoom, channels, expectCode } from './fixtures.mjs'

test('validateChannels accepts a good catalogue and counts it', () => {
  assert.equal(uoom.validateChannels(channels()), 2)
  assert.equal(uoom.validateChannels([{ id: 'x', kind: 'dark_store', lat: 0, lon: 0 }]), 1, 'defaults fill the rest')
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
