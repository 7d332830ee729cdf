import { readFileSync } from 'node:fs'
import type { ChannelInput } from 'uoom'

/** A small New York catalogue: two own kitchens, a dark store, a partner. */
export const CHANNELS: ChannelInput[] = [
  {
    id: 'nyc-kitchen-soho', kind: 'internal_kitchen', lat: 40.7233, lon: -74.003,
    radiusKm: 6, capacity: 40, vehicles: ['bike', 'car'], baseCost: 2.5, costPerKm: 0.6,
    prepMin: 12, speedKmh: 18, quality: 0.93,
  },
  {
    id: 'nyc-kitchen-midtown', kind: 'internal_kitchen', lat: 40.7549, lon: -73.984,
    radiusKm: 6, capacity: 40, vehicles: ['bike', 'car'], baseCost: 2.5, costPerKm: 0.6,
    prepMin: 12, speedKmh: 16, quality: 0.9,
  },
  {
    id: 'nyc-darkstore-fidi', kind: 'dark_store', lat: 40.7075, lon: -74.0113,
    radiusKm: 5, capacity: 60, vehicles: ['bike', 'car', 'van'], baseCost: 2.1, costPerKm: 0.65,
    prepMin: 8, speedKmh: 20, quality: 0.88,
  },
  {
    id: 'nyc-partner-brooklyn', kind: 'external_partner', lat: 40.6928, lon: -73.9903,
    radiusKm: 10, capacity: 100, vehicles: ['car', 'van', 'refrigerated'], baseCost: 4.0,
    costPerKm: 0.8, prepMin: 15, speedKmh: 25, quality: 0.8,
  },
]

/**
 * The channel catalogue: the JSON array in `file` (`CHANNELS_FILE`, the
 * same channel objects as above; uoom validates them when the router is
 * built, so a bad file stops the service at start with every field error),
 * or the built-in sample when no file is named.
 */
export function loadChannels(file: string | undefined): ChannelInput[] {
  if (!file) return CHANNELS
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of channels`)
  return parsed as ChannelInput[]
}
