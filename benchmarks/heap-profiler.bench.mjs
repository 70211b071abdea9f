// What the always-on sampling heap profiler (512 KiB, oomkit's default) costs.
//
//   node --expose-gc benchmarks/heap-profiler.bench.mjs [--quick] [--rounds N] [--duration ms] [--json]
//
// Needs dist/ (`npm run build`). Two measurements, each in interleaved rounds (the order rotates
// every round) and summarised by medians:
//
// (a) Express 5 throughput: three copies of the same app (heap-profiler-app.mjs) with oomkit
//     started in each: A and A' with `heapProfile: false`, B with the default profiler. A keep-alive
//     load generator (heap-profiler-load.mjs, 50 connections) drives each for a fixed time per
//     round. B / mean(A, A') of the same round is the profiler's effect; A'/A (the same app
//     against itself) is the noise.
// (b) An allocation-heavy loop (heap-profiler-alloc.mjs): the same fixed work with the profiler
//     off, on, off again, in one process. on / mean(off) is the cost; off2 / off1 the noise.
//
// With `taskset` the app (or the loop) runs on CPU 0 and the load generator on CPU 1.
// Exit code: 1 when the allocation-heavy cost of the default backend is 3% or more, else 0.
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { firstLine, median, nodeChild, pct, pinned, range } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, '..', 'dist', 'src', 'heap', 'profile', 'index.js'))) {
  console.error('missing dist/src/heap/profile/index.js: run `npm run build` first')
  process.exit(2)
}
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const rounds = Number(args.rounds ?? (args.quick ? 5 : 9))
const durationMs = Number(args.duration ?? (args.quick ? 2000 : 3000))
const allocRounds = Math.max(rounds, args.quick ? 5 : 11)
const ALLOC_ITERATIONS = 1_500_000
const CONNECTIONS = 50
const MAX_ALLOC_COST = 0.03

async function startApp(mode) {
  const child = nodeChild(0, [join(here, 'heap-profiler-app.mjs'), mode])
  const ready = await firstLine(child, `app (${mode})`)
  return { child, ...ready }
}

async function load(url, ms, warmupMs = 500) {
  const child = nodeChild(1, [join(here, 'heap-profiler-load.mjs'), url, String(ms), String(CONNECTIONS), String(warmupMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const r = await firstLine(child, 'load generator')
  if (r.errors > 0) throw new Error(`load generator saw ${r.errors} errors against ${url}`)
  return r.rps
}

async function expressRounds() {
  const apps = { A: await startApp('off'), B: await startApp('on'), "A'": await startApp('off') }
  try {
    for (const app of Object.values(apps)) await load(app.url, 1500)
    const rows = []
    const names = ['A', 'B', "A'"]
    for (let r = 0; r < rounds; r++) {
      const row = {}
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]
        row[name] = await load(apps[name].url, durationMs)
      }
      rows.push(row)
      say(`  express round ${r + 1}/${rounds}: A ${row.A.toFixed(0)}  B ${row.B.toFixed(0)}  A' ${row["A'"].toFixed(0)} req/s`)
    }
    return { profiler: apps.B.profiler, rows }
  } finally {
    for (const app of Object.values(apps)) app.child.stdin.end()
  }
}

async function allocRoundsFor(backend) {
  const child = nodeChild(0, ['--expose-gc', join(here, 'heap-profiler-alloc.mjs'), backend, String(allocRounds), String(ALLOC_ITERATIONS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return firstLine(child, `alloc loop (${backend})`)
}

const started = Date.now()
const loadBefore = loadavg()[0]
const say = (line) => (args.json ? console.error(line) : console.log(line))
say(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${pinned ? 'app on CPU 0, load on CPU 1' : 'not pinned (no taskset)'}, load average ${loadBefore.toFixed(2)}`,
)
say(`(a) express: ${rounds} rounds x ${durationMs} ms per app, ${CONNECTIONS} connections`)
const express = await expressRounds()
say(`(b) allocation-heavy loop: ${allocRounds} rounds x ${ALLOC_ITERATIONS} iterations`)
const alloc = []
for (const backend of ['auto', 'inspector']) alloc.push(await allocRoundsFor(backend))

const bOverA = express.rows.map((r) => r.B / ((r.A + r["A'"]) / 2))
const aaExpress = express.rows.map((r) => r["A'"] / r.A)
const summary = {
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  express: {
    profiler: express.profiler,
    medianReqPerSec: { A: median(express.rows.map((r) => r.A)), B: median(express.rows.map((r) => r.B)), "A'": median(express.rows.map((r) => r["A'"])) },
    profilerRatio: median(bOverA),
    aaRatio: median(aaExpress),
    rounds: express.rows,
  },
  alloc: alloc.map((a) => {
    const cost = a.rounds.map((r) => r.on / ((r.off1 + r.off2) / 2))
    const aa = a.rounds.map((r) => r.off2 / r.off1)
    return {
      backend: a.backend,
      intervalBytes: a.intervalBytes,
      medianMs: { off: median(a.rounds.flatMap((r) => [r.off1, r.off2])), on: median(a.rounds.map((r) => r.on)) },
      costRatio: median(cost),
      aaRatio: median(aa),
      costRange: range(cost),
      aaRange: range(aa),
      rounds: a.rounds,
    }
  }),
  seconds: Math.round((Date.now() - started) / 1000),
  loadAverage: { before: loadBefore, after: loadavg()[0] },
}

if (args.json) console.log(JSON.stringify(summary, null, 2))
else {
  const e = summary.express
  console.log('\n| measurement | without profiler | with profiler (512 KiB) | profiler effect (median, range) | A/A noise (median, range) |')
  console.log('|---|---|---|---|---|')
  console.log(
    `| Express 5 JSON route, req/s (${e.profiler}) | ${e.medianReqPerSec.A.toFixed(0)} | ${e.medianReqPerSec.B.toFixed(0)} | ${pct(e.profilerRatio)} (${range(bOverA)}) | ${pct(e.aaRatio)} (${range(aaExpress)}) |`,
  )
  for (const a of summary.alloc) {
    // Time per run: a positive effect is a cost.
    console.log(
      `| allocation-heavy loop, ms per run (${a.backend}) | ${a.medianMs.off.toFixed(0)} | ${a.medianMs.on.toFixed(0)} | ${pct(a.costRatio)} (${a.costRange}) | ${pct(a.aaRatio)} (${a.aaRange}) |`,
    )
  }
  console.log(
    `\nexpress: profiler ${pct(e.profilerRatio)} vs A/A ${pct(e.aaRatio)}: ${Math.abs(e.profilerRatio - e.aaRatio) <= 0.05 ? 'within' : 'OUTSIDE'} +/-5% of the noise`,
  )
  console.log(`done in ${summary.seconds} s; 1-minute load average ${loadBefore.toFixed(2)} before, ${summary.loadAverage.after.toFixed(2)} after`)
}
const gate = summary.alloc[0]
if (gate.costRatio - 1 >= MAX_ALLOC_COST) {
  console.error(`FAIL: the profiler (${gate.backend}, 512 KiB) costs ${pct(gate.costRatio)} on the allocation-heavy loop (target < ${MAX_ALLOC_COST * 100}%)`)
  process.exit(1)
}
say(`ok: allocation-heavy cost ${pct(gate.costRatio)} (${gate.backend}) is under ${MAX_ALLOC_COST * 100}%`)
