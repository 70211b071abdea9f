// What connection-leak tracking costs.
//
//   node --expose-gc benchmarks/leaks.bench.mjs [--quick] [--rounds N] [--json]
//
// Needs dist/ (`npm run build`); (c) needs PostgreSQL (scripts/test-databases.sh, or
// OOMKIT_TEST_PG_URL) and is skipped, saying so, without it. Every measurement is in interleaved
// rounds (the order alternates every round), summarised by medians:
//
// (a) One acquire+release pair through kit.leaks.acquire(kind, resource, { pool }) and
//     lease.release(), with captureStacks: false and with stacks (10 frames captured, the loop
//     running 20 frames deep as application code does), on one reused resource (a pooled
//     connection) and on a fresh object per pair. Targets: < 1 µs per pair without stacks,
//     < 5 µs with. For scale, the same run measures `new Error()` at the same depth.
// (b) The floor: a Set insert/delete plus a FinalizationRegistry register/unregister, the two
//     structures every tracked lease touches.
// (c) A pg query loop (pool.connect, SELECT 1, release) on an untracked pool (A), a tracked one
//     (B, default options: stacks on), one tracked without stacks (B0) and a second untracked one
//     (A') in the same process, order rotated every round. Overhead = B / mean(A, A') of the same
//     round; A'/A is the noise. Target: < 3 % for the sequential loop (1 worker: one query at a
//     time, as a request handler runs them); the same with 4 workers in flight (CPU-bound on the
//     client, ~20 µs a query) is shown for information. Wall time is noisy on a shared machine, so
//     each run also measures this process's CPU time: the tracker's extra CPU per query, as a share
//     of the untracked loop's wall time per query, is what the target is judged on.
//
// Exit code: 1 when a target is missed.
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, '..', 'dist', 'src', 'leaks', 'index.js'))) {
  console.error('missing dist/src/leaks/index.js: run `npm run build` first')
  process.exit(2)
}
const { createOomkit } = await import('../dist/src/index.js')
const { captureStack } = await import('../dist/src/leaks/index.js')
const { Registry } = (await import('prom-client')).default
const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, json: { type: 'boolean', default: false } },
})
const rounds = Number(args.rounds ?? (args.quick ? 5 : 11))
const PAIRS = args.quick ? 200_000 : 1_000_000
const STACK_PAIRS = args.quick ? 50_000 : 200_000
const QUERIES = args.quick ? 1000 : 3000
const WORKERS = 4
const DEPTH = 20
const TARGETS = { pairNoStacksNs: 1000, pairStacksNs: 5000, queryOverhead: 0.03 }
const PG_URL = process.env.OOMKIT_TEST_PG_URL ?? 'postgres://oomkit:oomkit@127.0.0.1:5432/oomkit'

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
const pct = (ratio) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`
const silent = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  fatal() {},
  trace() {},
  child() {
    return silent
  },
  level: 'silent',
}

function kitWith(leaks) {
  return createOomkit({
    logger: silent,
    registry: new Registry(),
    defaultMetrics: false,
    heapProfile: false,
    logIntervalMs: 0,
    snapshot: false,
    leaks: { sockets: false, ...leaks },
  }).start()
}

/** Runs `fn` DEPTH frames down, as application code is called (the stack capture takes 10 of them). */
function atDepth(n, fn) {
  return n === 0 ? fn() : atDepth(n - 1, fn)
}

/** ns per iteration of `body(i)` run `n` times. */
function timed(n, body) {
  return atDepth(DEPTH, () => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) body(i)
    return Number(process.hrtime.bigint() - t0) / n
  })
}

const OPTS = { pool: 'db' }
const resource = {}
const plain = kitWith({ captureStacks: false })
const stacked = kitWith({ captureStacks: true })
const cases = {
  'pair, no stacks, reused resource': () => timed(PAIRS, () => plain.leaks.acquire('conn', resource, OPTS).release()),
  'pair, no stacks, fresh resource': () => timed(PAIRS, () => plain.leaks.acquire('conn', {}, OPTS).release()),
  'pair, stacks, reused resource': () => timed(STACK_PAIRS, () => stacked.leaks.acquire('conn', resource, OPTS).release()),
  'pair, stacks, fresh resource': () => timed(STACK_PAIRS, () => stacked.leaks.acquire('conn', {}, OPTS).release()),
  'floor: Set + FinalizationRegistry': (() => {
    const set = new Set()
    const fr = new FinalizationRegistry(() => {})
    return () =>
      timed(PAIRS, () => {
        const token = { t: 1 }
        set.add(token)
        fr.register(resource, token, token)
        set.delete(token)
        fr.unregister(token)
      })
  })(),
  'reference: new Error() at the same depth': () => timed(STACK_PAIRS, () => new Error('x')),
  'reference: captureStack() alone': () =>
    timed(STACK_PAIRS, function take() {
      return captureStack(take)
    }),
}

const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
const names = Object.keys(cases)
for (const name of names) cases[name]() // warm-up
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse()
  for (const name of order) {
    globalThis.gc?.()
    results[name].push(cases[name]())
  }
}
await Promise.all([plain.stop(), stacked.stop()])

const pairs = Object.fromEntries(names.map((n) => [n, median(results[n])]))
console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${rounds} rounds`,
)
console.log('\n(a, b) ns per acquire+release pair (median over rounds; min .. max)')
for (const n of names)
  console.log(`  ${n.padEnd(44)} ${pairs[n].toFixed(0).padStart(6)} ns  (${Math.min(...results[n]).toFixed(0)} .. ${Math.max(...results[n]).toFixed(0)})`)

const failures = []
const worstNoStacks = Math.max(pairs['pair, no stacks, reused resource'], pairs['pair, no stacks, fresh resource'])
const worstStacks = Math.max(pairs['pair, stacks, reused resource'], pairs['pair, stacks, fresh resource'])
if (worstNoStacks >= TARGETS.pairNoStacksNs) failures.push(`pair without stacks ${worstNoStacks.toFixed(0)} ns ≥ ${TARGETS.pairNoStacksNs} ns`)
if (worstStacks >= TARGETS.pairStacksNs) failures.push(`pair with stacks ${worstStacks.toFixed(0)} ns ≥ ${TARGETS.pairStacksNs} ns`)

// (c) pg query loop
const pgUp = await new Promise((resolve) => {
  const u = new URL(PG_URL)
  const s = connect(Number(u.port || 5432), u.hostname)
  s.setTimeout(2000, () => (s.destroy(), resolve(false)))
  s.once('connect', () => (s.destroy(), resolve(true)))
  s.once('error', () => resolve(false))
})
let query = null
if (!pgUp) {
  console.log(`\n(c) SKIPPED: PostgreSQL at ${new URL(PG_URL).host} is not reachable (bash scripts/test-databases.sh)`)
} else {
  const pg = (await import('pg')).default
  const kit = kitWith({})
  const make = () => new pg.Pool({ connectionString: PG_URL, max: WORKERS })
  const pools = { A: make(), B: make(), B0: make(), "A'": make() }
  kit.leaks.trackPool(pools.B, { name: 'bench' })
  kit.leaks.trackPool(pools.B0, { name: 'bench-nostacks', captureStacks: false })
  /** µs of wall time and of this process's CPU time per query. */
  async function loop(pool, workers) {
    let left = QUERIES
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: workers }, async function worker() {
        while (left-- > 0) {
          const client = await pool.connect()
          try {
            await client.query('SELECT 1')
          } finally {
            client.release()
          }
        }
      }),
    )
    const wall = ((performance.now() - t0) * 1000) / QUERIES
    const cpu = process.cpuUsage(cpu0)
    return { wall, cpu: (cpu.user + cpu.system) / QUERIES }
  }
  query = {}
  const queryRounds = args.quick ? rounds : Math.max(rounds, 21)
  for (const workers of [1, WORKERS]) {
    for (const p of Object.values(pools)) await loop(p, workers) // warm-up: connections open, plans cached
    const us = { A: [], B: [], B0: [], "A'": [] }
    const cpuUs = { A: [], B: [], B0: [], "A'": [] }
    const overhead = []
    const overheadNoStacks = []
    const noise = []
    const extraCpu = []
    const extraCpuNoStacks = []
    const names = Object.keys(us)
    for (let r = 0; r < queryRounds; r++) {
      const got = {}
      // Rotate the order every round, so no pool always runs first or last.
      for (let i = 0; i < names.length; i++) {
        const k = names[(i + r) % names.length]
        got[k] = await loop(pools[k], workers)
      }
      for (const k of names) {
        us[k].push(got[k].wall)
        cpuUs[k].push(got[k].cpu)
      }
      const base = (got.A.wall + got["A'"].wall) / 2
      const baseCpu = (got.A.cpu + got["A'"].cpu) / 2
      overhead.push(got.B.wall / base)
      overheadNoStacks.push(got.B0.wall / base)
      noise.push(got["A'"].wall / got.A.wall)
      extraCpu.push(got.B.cpu - baseCpu)
      extraCpuNoStacks.push(got.B0.cpu - baseCpu)
    }
    const row = {
      usPerQuery: Object.fromEntries(names.map((k) => [k, median(us[k])])),
      overhead: median(overhead),
      overheadRange: [Math.min(...overhead), Math.max(...overhead)],
      overheadNoStacks: median(overheadNoStacks),
      noise: median(noise),
      noiseRange: [Math.min(...noise), Math.max(...noise)],
      cpuUsPerQuery: Object.fromEntries(names.map((k) => [k, median(cpuUs[k])])),
      extraCpuUs: median(extraCpu),
      extraCpuUsNoStacks: median(extraCpuNoStacks),
    }
    // The tracker's own CPU per query against the untracked loop's wall time: what the wall-clock
    // ratio would show on a quiet machine, without the other processes' noise.
    row.cpuOverhead = row.extraCpuUs / median([...us.A, ...us["A'"]])
    query[`${workers} worker${workers === 1 ? '' : 's'}`] = row
    console.log(
      `\n(c) pg query loop, ${workers} worker${workers === 1 ? '' : 's'} (connect, SELECT 1, release; ${QUERIES} queries per run, ${queryRounds} rounds), µs per query (median)`,
    )
    console.log(
      `  untracked A ${row.usPerQuery.A.toFixed(1)}, tracked B ${row.usPerQuery.B.toFixed(1)}, tracked without stacks B0 ${row.usPerQuery.B0.toFixed(1)}, untracked A' ${row.usPerQuery["A'"].toFixed(1)}`,
    )
    console.log(
      `  wall-clock overhead B / mean(A, A') ${pct(row.overhead)} (${pct(row.overheadRange[0])} .. ${pct(row.overheadRange[1])}), without stacks ${pct(row.overheadNoStacks)}; A/A noise ${pct(row.noise)} (${pct(row.noiseRange[0])} .. ${pct(row.noiseRange[1])})`,
    )
    console.log(
      `  client CPU µs per query: A ${row.cpuUsPerQuery.A.toFixed(1)}, B ${row.cpuUsPerQuery.B.toFixed(1)}, B0 ${row.cpuUsPerQuery.B0.toFixed(1)}, A' ${row.cpuUsPerQuery["A'"].toFixed(1)}: the tracker adds ${row.extraCpuUs.toFixed(2)} µs (${row.extraCpuUsNoStacks.toFixed(2)} without stacks) = ${(row.cpuOverhead * 100).toFixed(1)}% of a query`,
    )
    // The target is for the sequential loop (one query at a time, as a request handler runs them);
    // with several workers in flight the loop is CPU-bound on the client and shown for information.
    // Judged on the CPU the tracker adds (stable under load); the wall-clock ratio is shown beside it.
    if (workers === 1 && row.cpuOverhead >= TARGETS.queryOverhead)
      failures.push(`sequential query loop: the tracker's CPU is ${(row.cpuOverhead * 100).toFixed(1)}% of a query ≥ ${TARGETS.queryOverhead * 100}%`)
  }
  await Promise.all(Object.values(pools).map((p) => p.end()))
  await kit.stop()
}

if (args.json) console.log(JSON.stringify({ node: process.version, rounds, pairsNs: pairs, query }))
if (failures.length > 0) {
  console.log(`\nMISSED: ${failures.join('; ')}`)
  process.exit(1)
}
console.log(
  `\nall targets met: pair < ${TARGETS.pairNoStacksNs} ns without stacks, < ${TARGETS.pairStacksNs} ns with${query === null ? '' : `, query loop < +${TARGETS.queryOverhead * 100}%`}`,
)
