// Runs every ```js block of docs/node.md, so the guide cannot drift.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { uoom } from './fixtures.mjs'

const DOC = new URL('../../docs/node.md', import.meta.url)
const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor

test('docs/node.md has code to run', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`)
})

blocks.forEach((code, i) => {
  const title = code.split('\n').find((l) => l && !l.startsWith('const uoom')) ?? ''
  test(`docs/node.md block ${i + 1}: ${title.slice(0, 60)}`, async () => {
    const req = (name) => {
      assert.equal(name, 'uoom', 'doc snippets only require uoom')
      return uoom
    }
    await new AsyncFunction('require', 'assert', code)(req, assert)
  })
})
