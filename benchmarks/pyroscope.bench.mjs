// What continuous profiling with Pyroscope costs, side by side: the same Express 5 app without
// profiling, with oomkit's heap profile, with Pyroscope's wall profile, with both through oomkit,
// and with @pyroscope/nodejs's own default setup (the peer).
//
//   node benchmarks/pyroscope.bench.mjs [--quick] [--rounds N] [--duration ms] [--json]
//
// Needs dist/ (`npm run build`) and @pyroscope/nodejs (a devDependency). Six apps
// (pyroscope-app.mjs; `none` twice, A and A', for the noise) stay up for the whole run, all
// uploading to an ingest sink in this process at Pyroscope's defaults (60 s flush, 100 Hz wall,
// 512 KiB heap). Each round drives every app once with the keep-alive load generator of
// heap-profiler-load.mjs (50 connections, 0.5 s warm-up), the order rotated every round; per
// app and round: req/s and the app's CPU µs per request (process.cpuUsage around the load).
// Ratios are against mean(A, A') of the same round; medians over the rounds. Also reported: each
// app's idle CPU (ms of CPU per second while the others are loaded: the profilers' background
// cost) and RSS at the end.
//
// With `taskset` the apps run on CPU 0 and the load generator on CPU 1.
// Exit code 1 when oomkit's Pyroscope (wall + heap) costs more than 5 % more CPU per request than
// @pyroscope/nodejs's own default setup beyond the noise: the median over the rounds of the paired
// ratio (the two measured in the same round) against 1.05 plus the A/A noise of the same run (the
// median per-round disagreement of CPU per request between the two identical apps A and A').
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { firstLine, median, nodeChild, pct, pinned, range } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, '..', 'dist', 'src', 'pyroscope', 'index.js'))) {
  console.error('missing dist/src/pyroscope/index.js: run `npm run build` first')
  process.exit(2)
}
const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, duration: { type: 'string' }, json: { type: 'boolean', default: false } },
})
const rounds = Number(args.rounds ?? (args.quick ? 3 : 9))
const durationMs = Number(args.duration ?? (args.quick ? 2000 : 3000))
const CONNECTIONS = 50
const MAX_VS_PEER = 0.05
const say = (line) => (args.json ? console.error(line) : console.log(line))

// The ingest sink: accepts every upload, counts them per application name.
const uploads = new Map()
const sink = createServer((req, res) => {
  const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? '?'
  req.resume()
  req.on('end', () => {
    const app = name.slice(0, name.indexOf('{'))
    uploads.set(app, (uploads.get(app) ?? 0) + 1)
    res.end()
  })
})
await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve))
const ingest = `http://127.0.0.1:${sink.address().port}`

const APPS = [
  ['A', 'none'],
  ['heap', 'heap'],
  ['wall', 'wall'],
  ['oomkit-pyroscope', 'oomkit-pyroscope'],
  ['pyroscope-own', 'pyroscope-own'],
  ["A'", 'none'],
]

async function startApp(mode) {
  const child = nodeChild(0, [join(here, 'pyroscope-app.mjs'), mode, ingest])
  const ready = await firstLine(child, `app (${mode})`)
  return { child, ...ready }
}

async function appStats(app) {
  return (await fetch(`${app.url}/__stats`)).json()
}

async function load(url, ms, warmupMs = 500) {
  const child = nodeChild(1, [join(here, 'heap-profiler-load.mjs'), `${url}/items`, String(ms), String(CONNECTIONS), String(warmupMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const r = await firstLine(child, 'load generator')
  if (r.errors > 0) throw new Error(`load generator saw ${r.errors} errors against ${url}`)
  return r
}

const started = Date.now()
const loadBefore = loadavg()[0]
say(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${pinned ? 'apps on CPU 0, load on CPU 1' : 'not pinned (no taskset)'}, load average ${loadBefore.toFixed(2)}`,
)
say(`${rounds} rounds x ${durationMs} ms per app, ${CONNECTIONS} connections; apps: ${APPS.map(([n, m]) => (n === m ? n : `${n} (${m})`)).join(', ')}`)

const apps = {}
for (const [name, mode] of APPS) apps[name] = { ...(await startApp(mode)), name, mode, busyCpuUs: 0 }
const rows = []
let firstStats
let lastStats
try {
  for (const app of Object.values(apps)) await load(app.url, 1500)
  firstStats = Object.fromEntries(await Promise.all(Object.values(apps).map(async (a) => [a.name, { ...(await appStats(a)), at: performance.now() }])))
  const names = APPS.map(([n]) => n)
  for (let r = 0; r < rounds; r++) {
    const row = {}
    for (let k = 0; k < names.length; k++) {
      const app = apps[names[(k + r) % names.length]]
      const before = await appStats(app)
      const result = await load(app.url, durationMs)
      const after = await appStats(app)
      app.busyCpuUs += after.cpuUs - before.cpuUs
      // The warm-up's requests are not counted by the load generator; its CPU is: spread per counted request.
      row[app.name] = { rps: result.rps, cpuUsPerReq: (after.cpuUs - before.cpuUs) / result.requests }
    }
    rows.push(row)
    say(`  round ${r + 1}/${rounds}: ${names.map((n) => `${n} ${row[n].rps.toFixed(0)}`).join('  ')} req/s`)
  }
  lastStats = Object.fromEntries(await Promise.all(Object.values(apps).map(async (a) => [a.name, { ...(await appStats(a)), at: performance.now() }])))
} finally {
  // The apps first: their stop sends the last profiles to the sink.
  await Promise.all(
    Object.values(apps).map(
      (app) =>
        new Promise((resolve) => {
          app.child.once('exit', resolve)
          app.child.stdin.end()
        }),
    ),
  )
  sink.close()
}

const base = (row) => (row.A.rps + row["A'"].rps) / 2
const baseCpu = (row) => (row.A.cpuUsPerReq + row["A'"].cpuUsPerReq) / 2
const loadedMs = rounds * (durationMs + 500)
const summary = {
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  rounds,
  durationMs,
  apps: Object.fromEntries(
    APPS.map(([name, mode]) => {
      const rps = rows.map((r) => r[name].rps / base(r))
      const cpu = rows.map((r) => r[name].cpuUsPerReq / baseCpu(r))
      const idleMs = lastStats[name].at - firstStats[name].at - loadedMs
      const idleCpuUs = lastStats[name].cpuUs - firstStats[name].cpuUs - apps[name].busyCpuUs
      return [
        name,
        {
          mode,
          medianReqPerSec: median(rows.map((r) => r[name].rps)),
          throughputRatio: median(rps),
          throughputRange: range(rps),
          cpuUsPerReq: median(rows.map((r) => r[name].cpuUsPerReq)),
          cpuRatio: median(cpu),
          cpuRange: range(cpu),
          idleCpuMsPerSec: idleCpuUs / 1000 / (idleMs / 1000),
          rssMB: lastStats[name].rss / 1024 / 1024,
          uploads: uploads.get(`bench-${mode}`) ?? 0,
        },
      ]
    }),
  ),
  seconds: Math.round((Date.now() - started) / 1000),
  loadAverage: { before: loadBefore, after: loadavg()[0] },
}

const own = summary.apps['oomkit-pyroscope']
const peer = summary.apps['pyroscope-own']
summary.vsPeer = {
  cpuPerRequest: median(rows.map((r) => r['oomkit-pyroscope'].cpuUsPerReq / r['pyroscope-own'].cpuUsPerReq)),
  throughput: median(rows.map((r) => r['oomkit-pyroscope'].rps / r['pyroscope-own'].rps)),
  noise: median(rows.map((r) => Math.abs(r["A'"].cpuUsPerReq / r.A.cpuUsPerReq - 1))),
}
const bound = MAX_VS_PEER + summary.vsPeer.noise
if (args.json) console.log(JSON.stringify({ ...summary, rows }, null, 2))
else {
  console.log(
    '\n| setup | req/s (median) | throughput vs no profiling (median, range) | CPU µs / request | CPU / request vs no profiling (median, range) | idle CPU ms/s | RSS MB | uploads |',
  )
  console.log('|---|---|---|---|---|---|---|---|')
  for (const [name, a] of Object.entries(summary.apps)) {
    console.log(
      `| ${name} | ${a.medianReqPerSec.toFixed(0)} | ${pct(a.throughputRatio)} (${a.throughputRange}) | ${a.cpuUsPerReq.toFixed(1)} | ${pct(a.cpuRatio)} (${a.cpuRange}) | ${a.idleCpuMsPerSec.toFixed(2)} | ${a.rssMB.toFixed(0)} | ${a.uploads} |`,
    )
  }
  console.log(
    `\noomkit's Pyroscope vs @pyroscope/nodejs's own setup, paired per round: CPU per request ${pct(summary.vsPeer.cpuPerRequest)}, throughput ${pct(summary.vsPeer.throughput)}`,
  )
  console.log(
    `A'/A noise: ${pct(summary.apps["A'"].throughputRatio)} throughput, ${pct(summary.apps["A'"].cpuRatio)} CPU per request (median per-round disagreement ${(summary.vsPeer.noise * 100).toFixed(1)}%); done in ${summary.seconds} s; 1-minute load average ${loadBefore.toFixed(2)} before, ${summary.loadAverage.after.toFixed(2)} after`,
  )
}
const verdict = `oomkit's Pyroscope costs ${pct(summary.vsPeer.cpuPerRequest)} CPU per request against @pyroscope/nodejs's own setup (${pct(own.cpuRatio)} vs ${pct(peer.cpuRatio)} against no profiling)`
const boundText = `the bound is +${(bound * 100).toFixed(1)}% (5% + the A/A noise ${(summary.vsPeer.noise * 100).toFixed(1)}%)`
if (summary.vsPeer.cpuPerRequest - 1 > bound) {
  console.error(`FAIL: ${verdict}; ${boundText}`)
  process.exit(1)
}
say(`ok: ${verdict}; ${boundText}`)
