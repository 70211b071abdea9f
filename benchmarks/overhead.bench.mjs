// What oomkit costs a service's requests: the demo Express app bare, against an identical copy
// (A/A: the noise), with oomkit at its defaults, with each component off in turn, and with each
// peer, all driven by autocannon.
//
//   node benchmarks/overhead.bench.mjs [--quick] [--headline] [--sides a,b,...] [--rounds N]
//        [--duration ms] [--warmup ms] [--connections N] [--node 22|24|/path/to/node] [--json] [--markdown]
//
// Needs dist/ (`npm run build`). Each round runs every side once, in an order rotated every round;
// a run starts that side's server (overhead-app.mjs) on CPU 0, warms it up, drives it for the
// measured window from a long-lived autocannon process on CPU 1 (overhead-load.mjs), reads the
// server's CPU time and RSS from /proc, and stops it. Only one server is up at a time, and every
// run starts a fresh one: no idle sibling steals CPU from the one measured, and rounds are
// independent samples (heap layout, JIT, hash seeds), which is what the median of per-round
// ratios assumes. Reported per side: median req/s, p99 and CPU per request, and the median and
// min–max of the per-round ratio to `bare`; `bare-copy` / `bare` is the A/A band. The component
// cost is the per-round ratio of a `no-*` side to `defaults`.
//
// Targets (issue 13), judged on full runs (≥ 12 rounds, with bare-copy and the peers): req/s at
// oomkit's defaults ≥ 0.97× bare, ahead of every peer of the same run, p99 ≤ 1.05× bare. Exit 1
// when one is missed; quick and partial runs report without judging.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  conversation,
  describeMachine,
  endChild,
  firstLine,
  here,
  interleave,
  machine,
  markdownTable,
  median,
  nodeBinary,
  nodeChild,
  nodeVersion,
  pinned,
  ratioCell,
  ratios,
  requireDist,
  rotated,
  times,
} from './lib.mjs'

requireDist('src/index.js')
requireDist('middleware/express.js')
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    headline: { type: 'boolean', default: false },
    sides: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    node: { type: 'string' },
    json: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
  },
})

const PEERS = ['prom-bundle', 'pyroscope']
const COMPONENTS = ['no-heap-profile', 'no-snapshot', 'no-trend', 'no-last-words', 'no-leaks', 'no-cache', 'no-logs', 'no-default-metrics', 'no-adapter']
const HEADLINE = ['bare', 'bare-copy', 'defaults', ...PEERS]
const ALL = ['bare', 'bare-copy', 'defaults', ...COMPONENTS, ...PEERS]
const TARGETS = { rps: 0.97, p99: 1.05, minRounds: 12 }

const requested = args.sides?.split(',').map((s) => s.trim()) ?? (args.headline ? HEADLINE : ALL)
const sides = ['bare', ...requested.filter((s) => s !== 'bare')]
const rounds = Number(args.rounds ?? (args.quick ? 3 : 12))
const durationMs = Number(args.duration ?? (args.quick ? 1000 : 2000))
const warmupMs = Number(args.warmup ?? (args.quick ? 500 : 1000))
const connections = Number(args.connections ?? 50)
const node = nodeBinary(args.node)
const m = machine(nodeVersion(node))
const say = (line) => (args.json || args.markdown ? console.error(line) : console.log(line))
const command =
  args.node === undefined && !args.headline
    ? '`npm run bench:overhead`'
    : `\`node benchmarks/overhead.bench.mjs${args.headline ? ' --headline' : ''}${args.node === undefined ? '' : ` --node ${args.node}`}\``
const CLK_TCK = 100 // Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s.

// @pyroscope/nodejs uploads here (nothing is due in a run this short; its stop may flush).
const sink = createServer((req, res) => {
  req.resume()
  req.on('end', () => res.end())
})
await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve))
const ingest = `http://127.0.0.1:${sink.address().port}`

function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) * 1024
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
  return { cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK, rss }
}

const load = conversation(nodeChild(1, [join(here, 'overhead-load.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] }), 'load generator')

async function measure(side) {
  const child = nodeChild(0, [join(here, 'overhead-app.mjs'), side, ingest], { node })
  try {
    const ready = await firstLine(child, `server (${side})`, (v) => v.ready === true)
    const warm = await load.ask({ url: ready.url, connections, warmupMs: 0, durationMs: warmupMs })
    if (warm.error !== undefined) throw new Error(`warm-up of ${side}: ${warm.error}`)
    const before = procStats(ready.pid)
    const r = await load.ask({ url: ready.url, connections, warmupMs: 0, durationMs })
    const after = procStats(ready.pid)
    if (r.error !== undefined) throw new Error(`run of ${side}: ${r.error}`)
    if (r.errors > 0 || r.non2xx > 0) throw new Error(`${side}: ${r.errors} errors and ${r.non2xx} non-2xx answers`)
    return { rps: r.rps, p99Ms: r.p99Ms, p50Ms: r.p50Ms, cpuUsPerReq: ((after.cpuMs - before.cpuMs) * 1000) / r.requests, rssMB: after.rss / 1e6 }
  } finally {
    await endChild(child)
  }
}

const started = Date.now()
say(describeMachine(m))
say(
  `${rounds} rounds × ${sides.length} sides (${sides.join(', ')}), ${warmupMs} ms warm-up + ${durationMs} ms measured, ${connections} connections, ${pinned ? 'server on CPU 0, autocannon on CPU 1' : 'not pinned (no taskset)'}; about ${Math.round((rounds * sides.length * (warmupMs + durationMs + 600)) / 60_000)} min`,
)
let rows
try {
  rows = await interleave(sides, rounds, measure, (row, r) =>
    say(
      `round ${r + 1}/${rounds} (${rotated(sides, r)[0]} first): ${sides.map((s) => `${s} ${row[s].rps.toFixed(0)} (${times(row[s].rps / row.bare.rps)})`).join('  ')}`,
    ),
  )
} finally {
  await load.end()
  sink.close()
}

const perSide = Object.fromEntries(
  sides.map((side) => {
    const rps = ratios(rows, side, 'bare', (x) => x.rps)
    const p99 = ratios(rows, side, 'bare', (x) => x.p99Ms)
    const cpu = ratios(rows, side, 'bare', (x) => x.cpuUsPerReq)
    return [
      side,
      {
        rps: median(rows.map((r) => r[side].rps)),
        p99Ms: median(rows.map((r) => r[side].p99Ms)),
        cpuUsPerReq: median(rows.map((r) => r[side].cpuUsPerReq)),
        rssMB: median(rows.map((r) => r[side].rssMB)),
        rpsRatio: median(rps),
        rpsRatios: rps,
        p99Ratio: median(p99),
        p99Ratios: p99,
        cpuRatio: median(cpu),
        cpuRatios: cpu,
        // What turning this component off gains against the defaults of the same round.
        ...(side.startsWith('no-') && sides.includes('defaults') ? { vsDefaults: median(ratios(rows, side, 'defaults', (x) => x.rps)) } : {}),
      },
    ]
  }),
)
const aa = perSide['bare-copy']
const band = aa === undefined ? null : { median: aa.rpsRatio, min: Math.min(...aa.rpsRatios), max: Math.max(...aa.rpsRatios) }
const d = perSide.defaults
const peers = PEERS.filter((p) => sides.includes(p))
const judged = rounds >= TARGETS.minRounds && aa !== undefined && d !== undefined && peers.length === PEERS.length
const checks =
  d === undefined
    ? []
    : [
        { what: `req/s at the defaults ≥ ${TARGETS.rps}× bare`, ok: d.rpsRatio >= TARGETS.rps, value: times(d.rpsRatio) },
        { what: `p99 at the defaults ≤ ${TARGETS.p99}× bare`, ok: d.p99Ratio <= TARGETS.p99, value: times(d.p99Ratio) },
        ...peers.map((p) => ({
          what: `defaults ahead of ${p}`,
          ok: d.rpsRatio > perSide[p].rpsRatio,
          value: `${times(d.rpsRatio)} vs ${times(perSide[p].rpsRatio)}`,
        })),
      ]
const summary = {
  bench: 'overhead',
  machine: m,
  rounds,
  durationMs,
  warmupMs,
  connections,
  seconds: Math.round((Date.now() - started) / 1000),
  band,
  sides: perSide,
  checks,
  judged,
  rows,
}

const table = markdownTable(
  [
    'side',
    'req/s (median)',
    'req/s vs bare (median of rounds, min–max)',
    'p99 ms',
    'p99 vs bare',
    'CPU µs / request',
    'CPU / request vs bare',
    'RSS MB',
    'vs defaults',
  ],
  sides.map((s) => {
    const x = perSide[s]
    return [
      s === 'bare-copy' ? 'bare-copy (A/A)' : s,
      x.rps.toFixed(0),
      s === 'bare' ? '1' : ratioCell(x.rpsRatios),
      x.p99Ms.toFixed(2),
      s === 'bare' ? '1' : ratioCell(x.p99Ratios),
      x.cpuUsPerReq.toFixed(1),
      s === 'bare' ? '1' : ratioCell(x.cpuRatios),
      x.rssMB.toFixed(0),
      x.vsDefaults === undefined ? '' : times(x.vsDefaults),
    ]
  }),
)
const rowsForSummary = [
  ...(d === undefined ? [] : [`| requests/s, oomkit defaults vs bare | ≥ 0.97× | ${ratioCell(d.rpsRatios)} | ${m.node} | ${command} |`]),
  ...(d === undefined ? [] : [`| p99 latency, oomkit defaults vs bare | ≤ 1.05× | ${ratioCell(d.p99Ratios)} | ${m.node} | ${command} |`]),
  ...(band === null ? [] : [`| A/A control (bare copy vs bare) | — | ${ratioCell(aa.rpsRatios)} | ${m.node} | ${command} |`]),
  ...peers.map((p) => `| requests/s, ${p} vs bare | below oomkit | ${ratioCell(perSide[p].rpsRatios)} | ${m.node} | ${command} |`),
]
if (args.json) console.log(JSON.stringify(summary, null, 2))
else if (args.markdown) console.log(`${rowsForSummary.join('\n')}\n\n${table}`)
else {
  console.log(`\n${table}\n`)
  if (band !== null) console.log(`A/A band: ${times(band.median)} (${band.min.toFixed(3)}–${band.max.toFixed(3)})`)
  console.log(`done in ${summary.seconds} s`)
}
for (const c of checks) say(`${c.ok ? 'ok  ' : 'MISS'} ${c.what}: ${c.value}`)
if (!judged) say(`not judged: a judged run has ≥ ${TARGETS.minRounds} rounds, bare-copy, defaults and every peer`)
else if (checks.some((c) => !c.ok)) {
  console.error('overhead: a target was missed')
  process.exit(1)
}
