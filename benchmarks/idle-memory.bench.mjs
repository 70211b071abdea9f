// What oomkit costs a service that is not busy: CPU while idle, memory at a large heap, and the
// memory it keeps over an hour of sampling.
//
//   node benchmarks/idle-memory.bench.mjs [--quick] [--parts idle,heap,hour] [--rounds N] [--seconds S]
//        [--mb MB] [--hours H] [--node 22|24|path] [--json] [--markdown]
//
// Needs dist/ (`npm run build`). Each part runs its sides in separate processes
// (idle-memory-child.mjs), in interleaved rounds, order rotated:
//
// (a) idle: bare Node, prom-client's default metrics alone, oomkit with `defaultMetrics: false`
//     (oomkit's own: sampler every 5 s, heap profile, trend, watchdog, last words, leaks, memory
//     log) and oomkit exactly at its defaults, idle side by side for S seconds a round (idle
//     processes barely use a core, so running them at once does not skew them, as in
//     trend-idle.bench.mjs). CPU time over the window (process.cpuUsage), minus bare Node's in the
//     same round, as a share of one core and as ms per minute. Target: oomkit's own < 0.5 %.
// (b) heap: a live heap of MB (200) of small records built with oomkit started, no oomkit vs
//     oomkit without the profiler vs oomkit at its defaults: RSS and heap after gc(), before and
//     after the profile is read over HTTP (/debug/memory/top, /debug/pprof/heap). Reported: what
//     oomkit adds, and what the profiler adds (defaults − no profiler).
// (c) hour: H simulated hours (720 ticks of 5 s each) of the kit's sampling tick with a simulated
//     Date.now, a scrape every 15 s, the app allocating in between; heap after gc() every 10
//     simulated minutes above the same process before oomkit was imported (node:http, prom-client
//     and pino loaded), and the same loop without oomkit. oomkit's own is the difference of the two
//     at each checkpoint (V8's code for the loop creeps up on both sides). Targets: oomkit's own
//     < 5 MB at the end, and flat: < 0.5 MB/h of growth after the first 20 minutes (the history
//     ring, trend window and growth window are full by then).
//
// Exit 1 when a judged run (not --quick) misses a target.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describeMachine, firstLine, here, machine, markdownTable, median, nodeBinary, nodeChild, nodeVersion, rotated, sleep } from './lib.mjs'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    parts: { type: 'string', default: 'idle,heap,hour' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    mb: { type: 'string' },
    hours: { type: 'string' },
    node: { type: 'string' },
    json: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
  },
})
const parts = new Set(args.parts.split(','))
const node = nodeBinary(args.node)
const m = machine(nodeVersion(node))
const say = (line) => (args.json || args.markdown ? console.error(line) : console.log(line))
const command =
  args.node === undefined
    ? '`npm run bench:idle`'
    : `\`node --expose-gc benchmarks/idle-memory.bench.mjs${args.node === undefined ? '' : ` --node ${args.node}`}\``
const TARGETS = { idleShare: 0.005, retainedBytes: 5e6, growthBytesPerHour: 0.5e6 }
const MB = (b) => (b / 1e6).toFixed(1)
const summary = { bench: 'idle-memory', machine: m }
const checks = []
const rows = []
const sections = []

function child(argv, cpu = null) {
  return firstLine(
    nodeChild(cpu, ['--expose-gc', join(here, 'idle-memory-child.mjs'), ...argv], { node, stdio: ['ignore', 'pipe', 'inherit'] }),
    argv.join(' '),
    (v) => v.result === true,
  )
}

say(describeMachine(m))

if (parts.has('idle')) {
  const rounds = Number(args.rounds ?? (args.quick ? 2 : 3))
  const seconds = Number(args.seconds ?? (args.quick ? 10 : 60))
  const sides = ['bare', 'prom-defaults', 'oomkit-no-defaults', 'defaults']
  say(`(a) idle: ${rounds} rounds of ${seconds} s, ${sides.length} idle services side by side`)
  const per = []
  for (let r = 0; r < rounds; r++) {
    const started = []
    // Staggered starts in the rotated order: start-up (imports, JIT) is not idle time.
    for (const side of rotated(sides, r)) {
      started.push(child(['idle', side, String(seconds)]))
      await sleep(100)
    }
    const out = Object.fromEntries((await Promise.all(started)).map((o) => [o.side, o]))
    const share = (s) => (out[s].cpuMs - out.bare.cpuMs) / out[s].wallMs
    per.push({ bare: out.bare.cpuMs / out.bare.wallMs, prom: share('prom-defaults'), own: share('oomkit-no-defaults'), defaults: share('defaults') })
    say(
      `  round ${r + 1}: bare ${(per.at(-1).bare * 100).toFixed(3)}% of a core; over bare: prom-client defaults +${(per.at(-1).prom * 100).toFixed(3)}%, oomkit's own +${(per.at(-1).own * 100).toFixed(3)}%, oomkit at its defaults +${(per.at(-1).defaults * 100).toFixed(3)}%`,
    )
  }
  const idle = {
    rounds,
    seconds,
    bareShare: median(per.map((p) => p.bare)),
    promDefaults: median(per.map((p) => p.prom)),
    oomkitOwn: median(per.map((p) => p.own)),
    defaults: median(per.map((p) => p.defaults)),
  }
  summary.idle = idle
  const cell = (share) => `${share >= 0 ? '+' : ''}${(share * 100).toFixed(3)}% (${(share * 60_000).toFixed(0)} ms/min)`
  sections.push(
    `### Idle CPU\n\n${markdownTable(
      ['side', 'CPU over bare Node, share of one core (ms of CPU per minute), median'],
      [
        ["prom-client's default metrics alone", cell(idle.promDefaults)],
        ["oomkit's own (defaults, `defaultMetrics: false`)", cell(idle.oomkitOwn)],
        ['oomkit exactly at its defaults (prom-client default metrics included)', cell(idle.defaults)],
      ],
    )}\n\nbare Node: ${(idle.bareShare * 100).toFixed(3)}% of a core.`,
  )
  checks.push({ what: "idle CPU, oomkit's own < 0.5% of a core", ok: idle.oomkitOwn < TARGETS.idleShare, value: cell(idle.oomkitOwn) })
  rows.push(`| idle CPU, oomkit's own (\`defaultMetrics: false\`) | < 0.5% of a core | ${cell(idle.oomkitOwn)} | ${m.node} | ${command} |`)
  rows.push(
    `| idle CPU, oomkit at its defaults (with prom-client's default metrics) | — | ${cell(idle.defaults)}; prom-client's alone ${cell(idle.promDefaults)} | ${m.node} | ${command} |`,
  )
}

if (parts.has('heap')) {
  const rounds = Number(args.rounds ?? (args.quick ? 1 : 3))
  const mb = Number(args.mb ?? 200)
  const sides = ['none', 'no-profiler', 'oomkit']
  say(`(b) heap: ${rounds} rounds, a ${mb} MB live heap of small records`)
  const per = []
  for (let r = 0; r < rounds; r++) {
    const out = {}
    for (const side of rotated(sides, r)) out[side] = await child(['heap', side, String(mb)], 0)
    per.push(out)
    say(`  round ${r + 1}: ${sides.map((s) => `${s} RSS ${MB(out[s].read.rss)} MB heap ${MB(out[s].read.heapUsed)} MB`).join('; ')}`)
  }
  const med = (side, phase, key) => median(per.map((p) => p[side][phase][key]))
  const delta = (a, b, phase, key) => median(per.map((p) => p[a][phase][key] - p[b][phase][key]))
  const heap = {
    rounds,
    mb,
    liveHeap: med('none', 'built', 'heapUsed'),
    rss: Object.fromEntries(sides.map((s) => [s, med(s, 'read', 'rss')])),
    oomkitAdds: {
      rss: delta('oomkit', 'none', 'read', 'rss'),
      heap: delta('oomkit', 'none', 'read', 'heapUsed'),
      external: delta('oomkit', 'none', 'read', 'external'),
    },
    profilerAdds: {
      rss: delta('oomkit', 'no-profiler', 'read', 'rss'),
      heap: delta('oomkit', 'no-profiler', 'read', 'heapUsed'),
      rssBeforeRead: delta('oomkit', 'no-profiler', 'built', 'rss'),
    },
    profileBytes: median(per.map((p) => p.oomkit.profileBytes ?? 0)),
  }
  summary.heap = heap
  sections.push(
    `### Memory at a ${mb} MB heap\n\n${markdownTable(
      ['', 'RSS MB (median)', 'heap used MB', 'vs no oomkit: RSS / heap MB'],
      [
        ['no oomkit', MB(heap.rss.none), MB(med('none', 'read', 'heapUsed')), ''],
        [
          'oomkit, `heapProfile: false`',
          MB(heap.rss['no-profiler']),
          MB(med('no-profiler', 'read', 'heapUsed')),
          `${MB(delta('no-profiler', 'none', 'read', 'rss'))} / ${MB(delta('no-profiler', 'none', 'read', 'heapUsed'))}`,
        ],
        [
          'oomkit at its defaults (profiler on)',
          MB(heap.rss.oomkit),
          MB(med('oomkit', 'read', 'heapUsed')),
          `${MB(heap.oomkitAdds.rss)} / ${MB(heap.oomkitAdds.heap)}`,
        ],
      ],
    )}\n\nThe profiler's own (defaults − \`heapProfile: false\`): RSS ${MB(heap.profilerAdds.rss)} MB after the profile was read (${MB(heap.profilerAdds.rssBeforeRead)} MB before), heap ${MB(heap.profilerAdds.heap)} MB; the pprof it served: ${heap.profileBytes} bytes.`,
  )
  rows.push(
    `| memory oomkit adds at a ${mb} MB heap (profiler on) | reported | RSS ${MB(heap.oomkitAdds.rss)} MB, heap ${MB(heap.oomkitAdds.heap)} MB; the profiler's RSS ${MB(heap.profilerAdds.rss)} MB | ${m.node} | ${command} |`,
  )
}

if (parts.has('hour')) {
  const hours = Number(args.hours ?? (args.quick ? 1 / 3 : 1))
  const ticks = Math.round(hours * 720)
  say(`(c) hour: ${ticks} simulated ticks of 5 s (${(ticks * 5) / 60} min), with and without oomkit`)
  const runs = {}
  for (const side of ['with', 'without']) runs[side] = await child(['hour', String(ticks), side], 0)
  const cps = runs.with.checkpoints
  const without = runs.without.checkpoints
  // oomkit's own: the heap above the baseline with oomkit less the same loop's without it at the
  // same checkpoint (V8's own code and feedback for the loop grow slowly on both sides).
  const own = (i) => cps[i].heapAboveBaseline - (without[i]?.heapAboveBaseline ?? 0)
  const lastIndex = cps.length - 1
  const fromIndex = Math.max(
    0,
    cps.findIndex((c) => c.minutes >= 20),
  )
  const span = cps[lastIndex].minutes - cps[fromIndex].minutes
  const growthPerHour = span > 0 ? ((own(lastIndex) - own(fromIndex)) * 60) / span : 0
  const hour = {
    ticks,
    checkpoints: cps,
    withoutCheckpoints: without,
    retained: own(lastIndex),
    retainedWithoutSubtraction: cps[lastIndex].heapAboveBaseline,
    // Of which the code and module state that importing oomkit (and @datadog/pprof) adds.
    afterImport: runs.with.afterImport,
    growthPerHourAfter20Min: growthPerHour,
    withoutGrowth: without[lastIndex].heapAboveBaseline - without[fromIndex].heapAboveBaseline,
  }
  summary.hour = hour
  sections.push(
    `### Retained over ${(ticks * 5) / 60} simulated minutes\n\n${markdownTable(
      [
        'simulated minutes',
        'heap above the baseline, with oomkit (MB)',
        'without oomkit (MB)',
        "oomkit's own: with − without (MB)",
        'RSS above the baseline, with / without (MB)',
      ],
      cps.map((c, i) => [
        String(c.minutes),
        (c.heapAboveBaseline / 1e6).toFixed(3),
        ((without[i]?.heapAboveBaseline ?? Number.NaN) / 1e6).toFixed(3),
        (own(i) / 1e6).toFixed(3),
        `${MB(c.rssAboveBaseline)} / ${MB(without[i]?.rssAboveBaseline ?? Number.NaN)}`,
      ]),
    )}\n\nImporting oomkit (its modules, @datadog/pprof's JS) accounts for ${(hour.afterImport / 1e6).toFixed(3)} MB of it before any instance exists. Growth of oomkit's own after the first 20 minutes: ${(growthPerHour / 1e6).toFixed(3)} MB/h; the same loop without oomkit grew ${(hour.withoutGrowth / 1e6).toFixed(3)} MB in that time (the with side's total above the baseline at the end: ${(hour.retainedWithoutSubtraction / 1e6).toFixed(2)} MB).`,
  )
  checks.push({ what: "oomkit's retained heap < 5 MB", ok: hour.retained < TARGETS.retainedBytes, value: `${(hour.retained / 1e6).toFixed(2)} MB` })
  checks.push({ what: 'flat: < 0.5 MB/h after 20 min', ok: growthPerHour < TARGETS.growthBytesPerHour, value: `${(growthPerHour / 1e6).toFixed(3)} MB/h` })
  rows.push(
    `| heap oomkit retains after ${(ticks * 5) / 60} simulated min (and its growth after 20 min) | < 5 MB, flat | ${(hour.retained / 1e6).toFixed(2)} MB, of which ${(hour.afterImport / 1e6).toFixed(2)} MB its code (${(growthPerHour / 1e6).toFixed(2)} MB/h) | ${m.node} | ${command} |`,
  )
}

summary.checks = checks
if (args.json) console.log(JSON.stringify(summary, null, 2))
else if (args.markdown) console.log(`${rows.join('\n')}\n\n${sections.join('\n\n')}`)
else console.log(`\n${sections.join('\n\n')}\n`)
for (const c of checks) say(`${c.ok ? 'ok  ' : 'MISS'} ${c.what}: ${c.value}`)
if (args.quick) say('not judged: --quick')
else if (checks.some((c) => !c.ok)) {
  console.error('idle-memory: a target was missed')
  process.exit(1)
}
