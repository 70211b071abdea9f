// One process of idle-memory.bench.mjs. Prints one JSON line (with `"result": true`) and exits.
//
//   node benchmarks/idle-memory-child.mjs idle <bare|prom-defaults|oomkit-no-defaults|defaults> <seconds>
//     An idle service for `seconds`: CPU time (process.cpuUsage) over the window, after 2 s of
//     settling. bare: nothing; prom-defaults: prom-client's default metrics alone (what an app
//     registering them pays, oomkit or not); oomkit-no-defaults: oomkit at its defaults with
//     `defaultMetrics: false`; defaults: oomkit exactly at its defaults (prom-client's default
//     registry and default metrics, pino on stdout).
//
//   node --expose-gc benchmarks/idle-memory-child.mjs heap <none|no-profiler|oomkit> <MB>
//     A live heap of `MB` of small records, built with oomkit already started (its profiler
//     sampling the build, as an always-on one does), then gc() and RSS / heap; then the profile is
//     read as a user would (GET /debug/memory/top and /debug/pprof/heap on kit.listen), and
//     gc() and RSS / heap again. none: no oomkit; no-profiler: oomkit with `heapProfile: false`.
//
//   node --expose-gc benchmarks/idle-memory-child.mjs hour <ticks> <with|without> [options JSON]
//     An hour (ticks × 5 s) of oomkit's sampling in seconds: Date.now is a simulated clock that
//     moves 5 s per tick; each tick runs the kit's sampling tick (internals(kit).tick: sample,
//     thresholds, trend, watchdog, the growth recorder's profile reads at its own cadence), with
//     ~2 MB of short-lived garbage allocated in between (so the profiler samples) and a scrape
//     every 3 ticks (15 s). Heap after gc() every 120 ticks (10 simulated minutes), against the
//     same process before oomkit was imported. `without` runs the same loop with no oomkit.
import { pino } from 'pino'
import client from 'prom-client'

const [mode, side, arg] = process.argv.slice(2)
const gc = globalThis.gc ?? (() => {})
const settle = () => new Promise((r) => setImmediate(r))
const out = (o) => process.stdout.write(`${JSON.stringify({ result: true, mode, side, ...o })}\n`)
const silent = () => pino({ level: 'error' }, pino.destination(2))

function heapNow() {
  gc()
  gc()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

async function idle() {
  const keepAlive = setInterval(() => {}, 1000)
  let kit = null
  if (side === 'prom-defaults') client.collectDefaultMetrics()
  else if (side === 'oomkit-no-defaults' || side === 'defaults') {
    const { createOomkit } = await import('../dist/src/index.js')
    kit = createOomkit(side === 'defaults' ? {} : { defaultMetrics: false }).start()
  } else if (side !== 'bare') throw new Error(`unknown side ${side}`)
  await new Promise((r) => setTimeout(r, 2000))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, Number(arg) * 1000))
  const cpu = process.cpuUsage(cpu0)
  const wallMs = performance.now() - t0
  await kit?.stop()
  clearInterval(keepAlive)
  out({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs })
}

async function heap() {
  let kit = null
  if (side !== 'none') {
    const { createOomkit } = await import('../dist/src/index.js')
    kit = createOomkit({
      logger: silent(),
      registry: new client.Registry(),
      logIntervalMs: 0,
      ...(side === 'no-profiler' ? { heapProfile: false } : {}),
    }).start()
  } else client.collectDefaultMetrics({ register: new client.Registry() })
  const target = Number(arg) * 1e6
  const records = []
  let i = 0
  // Until the heap after a full GC is at the target: garbage of the build does not count.
  for (;;) {
    while (process.memoryUsage().heapUsed < target) {
      for (let k = 0; k < 10_000; k++, i++) records.push({ id: i, name: `user-${i}`, tags: [`tag-${i % 16}`, `grp-${i % 5}`], n: i })
    }
    gc()
    if (process.memoryUsage().heapUsed >= target) break
  }
  const built = heapNow()
  let read = built
  let profileBytes = null
  if (kit !== null) {
    const server = await kit.listen({ port: 0, host: '127.0.0.1' })
    const base = server.url
    await (await fetch(`${base}/debug/memory/top?limit=20`)).arrayBuffer()
    const pprof = await fetch(`${base}/debug/pprof/heap`)
    profileBytes = pprof.ok ? (await pprof.arrayBuffer()).byteLength : null
    read = heapNow()
  }
  out({ records: records.length, built, read, profileBytes })
  await kit?.stop()
}

async function hour() {
  const ticks = Number(side)
  const withKit = arg !== 'without'
  // `with` may be followed by createOomkit options as JSON (e.g. '{"heapProfile":false}'), to find what grows.
  const extra = JSON.parse(process.argv[5] ?? '{}')
  const realNow = Date.now.bind(Date)
  let simulated = realNow()
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  // Node's HTTP server, loaded by every service oomkit instruments (its debug server and adapter use
  // it): part of the baseline, not of oomkit's cost (its internal modules are ~1.6 MB of heap on
  // Node 24, 0.01 MB on Node 20).
  await import('node:http')
  // The app's own live set and its allocation pattern are the same on both sides.
  const live = Array.from({ length: 100_000 }, (_v, i) => ({ i, s: `live-${i}` }))
  const churn = () => {
    let keep = 0
    for (let k = 0; k < 20_000; k++) keep += JSON.stringify({ k, v: [k, `x${k}`] }).length
    return keep
  }
  for (let k = 0; k < 5; k++) churn()
  await registry.metrics()
  const baseline = heapNow()
  let kit = null
  let afterImport = null
  let tick = () => {}
  if (withKit) {
    Date.now = () => simulated
    const { createOomkit } = await import('../dist/src/index.js')
    const { internals } = await import('../dist/src/internal.js')
    afterImport = heapNow().heapUsed - baseline.heapUsed
    kit = createOomkit({ logger: silent(), registry, ...extra }).start()
    tick = internals(kit).tick
  }
  const checkpoint = (t) => {
    const h = heapNow()
    checkpoints.push({
      minutes: (t * 5) / 60,
      heapAboveBaseline: h.heapUsed - baseline.heapUsed,
      rssAboveBaseline: h.rss - baseline.rss,
      externalAboveBaseline: h.external - baseline.external,
    })
  }
  const checkpoints = []
  checkpoint(0)
  for (let t = 1; t <= ticks; t++) {
    simulated += 5000
    churn()
    tick()
    if (t % 3 === 0) await registry.metrics()
    // The growth recorder's profile read is a promise: let it settle, as five seconds would.
    await settle()
    if (t % 120 === 0) {
      kit?.report()
      checkpoint(t)
    }
  }
  const report = kit?.report()
  out({
    ticks,
    baseline,
    afterImport,
    checkpoints,
    history: report?.history.length ?? null,
    profileRunning: report?.profile?.error === null,
    live: live.length,
  })
  Date.now = realNow
  await kit?.stop()
}

const modes = { idle, heap, hour }
if (modes[mode] === undefined) {
  console.error('usage: idle-memory-child.mjs idle|heap|hour ...')
  process.exit(2)
}
await modes[mode]()
process.exit(0)
