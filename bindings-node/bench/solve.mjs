// solve of a benchmark instance from Node beside the CLI's solve_ms (goal: within 1.2x).
//   node bench/solve.mjs [--instance PATH] [--runs R] [--cli PATH] [--json]
// Reports, per run, the solver's own solve_ms (instance in memory -> finished
// assignment, the spec's definition) from: `uoom solve` (CLI, release build),
// uoom.solveSync and await uoom.solve; plus the wall time of each Node call
// (conversion of the instance and the solution included).
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const uoom = require('..')
const args = process.argv.slice(2)
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d)
const root = fileURLToPath(new URL('../../', import.meta.url))
const instancePath = arg('--instance', root + 'benches/instances/b-m-0.json')
const runs = Number(arg('--runs', 10))
const cli = arg('--cli', root + 'target/release/uoom')
const timeLimitMs = Number(arg('--time-limit-ms', 100))

const text = readFileSync(instancePath, 'utf8')
const obj = JSON.parse(text)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const out = { instance: obj.name, runs, time_limit_ms: timeLimitMs, node: process.version }
if (existsSync(cli)) {
  const ms = []
  let objective
  for (let i = 0; i < runs; i++) {
    const sol = JSON.parse(execFileSync(cli, ['solve', instancePath, '--time-limit-ms', String(timeLimitMs)], { encoding: 'utf8' }))
    ms.push(sol.solve_ms)
    objective = sol.objective
  }
  out.cli = { solve_ms_median: median(ms), objective }
} else {
  out.cli = { missing: cli }
}

for (const [name, fn] of [
  ['solveSync(object)', async () => uoom.solveSync(obj, { timeLimitMs })],
  ['solveSync(text)', async () => uoom.solveSync(text, { timeLimitMs })],
  ['solve(object)', () => uoom.solve(obj, { timeLimitMs })],
]) {
  const solveMs = []
  const wall = []
  let objective
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    const sol = await fn()
    wall.push(performance.now() - t)
    solveMs.push(sol.solve_ms)
    objective = sol.objective
  }
  out[name] = { solve_ms_median: median(solveMs), wall_ms_median: median(wall), objective }
  if (out.cli.solve_ms_median) out[name].ratio_to_cli = median(solveMs) / out.cli.solve_ms_median
}

if (args.includes('--json')) {
  console.log(JSON.stringify(out))
} else {
  console.log(`${out.instance}: ${runs} runs each, time limit ${timeLimitMs} ms, node ${process.version}`)
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'object') console.log(`${k.padEnd(20)} ${JSON.stringify(v)}`)
  }
}
