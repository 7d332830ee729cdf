// The package from ESM: every name the CommonJS entry exports is a named
// export too (Node reads them off uoom.js's `module.exports.X =` lines).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from '../uoom.js'
import { Router, ErrorCode, isUoomError, solve, validateOrder, version } from '../uoom.js'

const cjs = createRequire(import.meta.url)('../uoom.js')

test('named ESM imports are the CommonJS exports', () => {
  assert.equal(Router, cjs.Router)
  assert.equal(typeof Router.prototype.route, 'function', 'the package Router, with route()')
  assert.equal(ErrorCode.VALIDATION, 'UOOM_VALIDATION')
  assert.equal(typeof isUoomError, 'function')
  assert.equal(typeof solve, 'function')
  assert.equal(typeof validateOrder, 'function')
  assert.equal(typeof version(), 'string')
})

test('every CommonJS export has its ESM name', () => {
  const missing = Object.keys(cjs).filter((k) => !k.startsWith('__') && !(k in esm))
  assert.deepEqual(missing, [])
})
