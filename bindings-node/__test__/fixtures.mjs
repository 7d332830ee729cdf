// Shared fixtures of the node tests.
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'

export const require = createRequire(import.meta.url)
export const uoom = require('..')

export const SAMPLE = Object.freeze({
  customerId: '123e4567-e89b-12d3-a456-426614174000',
  restaurantId: '550e8400-e29b-41d4-a716-446655440001',
  items: [{ itemId: 'item1', name: 'Pizza', quantity: 1, unitPrice: 15.99 }],
  deliveryAddress: {
    street: '123 Main St', city: 'New York', postalCode: '10001',
    latitude: 40.7128, longitude: -74.006,
  },
})

export const sample = () => structuredClone(SAMPLE)

export const CHANNELS = Object.freeze([
  {
    id: 'k1', kind: 'internal_kitchen', lat: 40.72, lon: -74.0, radiusKm: 6, capacity: 3,
    vehicles: ['bike', 'car'], baseCost: 2, costPerKm: 0.5, prepMin: 10, speedKmh: 20, quality: 0.95,
  },
  {
    id: 'd1', kind: 'dark_store', lat: 40.70, lon: -74.01, radiusKm: 5, capacity: 2,
    vehicles: ['bike', 'car', 'van'], baseCost: 3, costPerKm: 0.7, prepMin: 8, speedKmh: 22, quality: 0.85,
  },
])

export const channels = () => structuredClone(CHANNELS)

/** Asserts that `fn` throws (or `promise` rejects with) a uoom error with `code`; returns it. */
export function expectCode(fnOrError, code) {
  let err = fnOrError
  if (typeof fnOrError === 'function') {
    try {
      fnOrError()
    } catch (e) {
      err = e
    }
    assert.ok(err !== fnOrError, `expected a throw with ${code}`)
  }
  assert.ok(err instanceof Error, 'a uoom error is an Error')
  assert.equal(err.code, code, err.message)
  assert.ok(uoom.isUoomError(err, code))
  assert.ok(Array.isArray(err.fieldErrors))
  return err
}

/** A small spec instance: 3 orders, 2 channels; o2 cannot be served (too far). */
export function tinyInstance() {
  return {
    name: 'tiny',
    weights: { cost: 1.0, time: 0.1, quality: 10.0 },
    unassigned_penalty: 100.0,
    orders: [
      { id: 'o0', lat: 24.71, lon: 46.67, units: 1, vehicle: 'bike', deadline_min: 60, priority: 1 },
      { id: 'o1', lat: 24.72, lon: 46.68, units: 2, vehicle: 'car', deadline_min: 60, priority: 2 },
      { id: 'o2', lat: 21.5, lon: 39.2, units: 1, vehicle: 'car', deadline_min: 60, priority: 1 },
    ],
    channels: [
      {
        id: 'c0', kind: 'dark_store', lat: 24.70, lon: 46.69, radius_km: 8, capacity: 3,
        vehicles: ['bike', 'car'], base_cost: 2.1, cost_per_km: 0.65, prep_min: 9, speed_kmh: 24,
        quality: 0.91, status: 'up',
      },
      {
        id: 'c1', kind: 'internal_kitchen', lat: 24.73, lon: 46.66, radius_km: 6, capacity: 1,
        vehicles: ['bike'], base_cost: 1.5, cost_per_km: 0.5, prep_min: 12, speed_kmh: 18,
        quality: 0.95, status: 'up',
      },
    ],
  }
}
