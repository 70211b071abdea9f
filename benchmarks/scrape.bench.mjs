// What a Prometheus scrape costs with oomkit's collectors, against prom-client's default registry
// alone.
//
//   node benchmarks/scrape.bench.mjs [--quick] [--rounds N] [--scrapes N] [--node 22|24|path] [--json] [--markdown]
//
// Needs dist/ (`npm run build`). Each round runs the sides (scrape-child.mjs), one process each,
// in alternating order: `default`, a registry with prom-client's default metrics; `oomkit`, the
// same registry with oomkit started in it (its collectors, with 20 caches and 5 tracked
// generic-pool pools). Each process scrapes `registry.metrics()` (what /metrics serves) a few
// times to warm up, then `scrapes` times in a row, and reports its CPU time per scrape
// (process.cpuUsage), wall time per scrape, and the bytes of the text. The figure is the median of
// the per-round ratio of CPU per scrape, oomkit / default. A third side, `floor`, is the default
// metrics plus 400 labelled prom-client gauges: what prom-client's formatting of that many series
// costs whoever produces them, against which oomkit's own reading and shaping can be told apart. Target (issue 13): ≤ 1.5×. Exit 1 when
// a judged run (≥ 12 rounds) misses it, or when any collector failed in a scrape.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  describeMachine,
  firstLine,
  here,
  interleave,
  machine,
  markdownTable,
  median,
  nodeBinary,
  nodeChild,
  nodeVersion,
  ratioCell,
  ratios,
  requireDist,
  times,
} from './lib.mjs'

requireDist('src/index.js')
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scrapes: { type: 'string' },
    node: { type: 'string' },
    json: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
  },
})
const rounds = Number(args.rounds ?? (args.quick ? 3 : 12))
const scrapes = Number(args.scrapes ?? (args.quick ? 100 : 500))
const TARGET = 1.5
const node = nodeBinary(args.node)
const m = machine(nodeVersion(node))
const say = (line) => (args.json || args.markdown ? console.error(line) : console.log(line))
const command =
  args.node === undefined ? '`npm run bench:scrape`' : `\`node benchmarks/scrape.bench.mjs${args.node === undefined ? '' : ` --node ${args.node}`}\``

async function scrape(side) {
  const child = nodeChild(0, [join(here, 'scrape-child.mjs'), side, String(scrapes), String(Math.ceil(scrapes / 10))], {
    node,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return firstLine(child, `scrape child (${side})`)
}

say(describeMachine(m))
say(`${rounds} rounds × 3 sides, ${scrapes} scrapes each (CPU time per scrape)`)
const sides = ['default', 'floor', 'oomkit']
const rows = await interleave(sides, rounds, scrape, (row, r) =>
  say(
    `round ${r + 1}/${rounds}: default ${row.default.cpuUsPerScrape.toFixed(0)} µs, floor ${row.floor.cpuUsPerScrape.toFixed(0)} µs, oomkit ${row.oomkit.cpuUsPerScrape.toFixed(0)} µs (${times(row.oomkit.cpuUsPerScrape / row.default.cpuUsPerScrape, 2)})`,
  ),
)
const cpu = ratios(rows, 'oomkit', 'default', (x) => x.cpuUsPerScrape)
const floor = ratios(rows, 'floor', 'default', (x) => x.cpuUsPerScrape)
const wall = ratios(rows, 'oomkit', 'default', (x) => x.wallUsPerScrape)
const per = (side, key) => median(rows.map((r) => r[side][key]))
const summary = {
  bench: 'scrape',
  machine: m,
  rounds,
  scrapes,
  sides: Object.fromEntries(
    sides.map((s) => [
      s,
      { cpuUsPerScrape: per(s, 'cpuUsPerScrape'), wallUsPerScrape: per(s, 'wallUsPerScrape'), bytes: per(s, 'bytes'), series: per(s, 'series') },
    ]),
  ),
  cpuRatio: median(cpu),
  cpuRatios: cpu,
  floorRatio: median(floor),
  floorRatios: floor,
  wallRatio: median(wall),
  collectorErrors: rows.some((r) => r.oomkit.errors),
}
const judged = rounds >= 12
const table = markdownTable(
  ['registry', 'CPU µs / scrape', 'wall µs / scrape', 'bytes', 'series', 'CPU vs default (median of rounds, min–max)'],
  sides.map((s) => {
    const x = summary.sides[s]
    return [
      { default: "prom-client's default metrics", floor: '+ 400 labelled prom-client gauges (the formatting floor)', oomkit: '+ oomkit (20 caches, 5 pools)' }[
        s
      ],
      x.cpuUsPerScrape.toFixed(0),
      x.wallUsPerScrape.toFixed(0),
      x.bytes.toFixed(0),
      x.series.toFixed(0),
      s === 'default' ? '1' : ratioCell(s === 'floor' ? floor : cpu, 2),
    ]
  }),
)
const row = `| scrape, oomkit's collectors (20 caches, 5 pools) vs default registry | ≤ 1.5× | ${ratioCell(cpu, 2)} CPU per scrape | ${m.node} | ${command} |`
if (args.json) console.log(JSON.stringify({ ...summary, rows }, null, 2))
else if (args.markdown) console.log(`${row}\n\n${table}`)
else console.log(`\n${table}\n`)
const ok = summary.cpuRatio <= TARGET && !summary.collectorErrors
say(
  `${ok ? 'ok  ' : 'MISS'} scrape CPU ${times(summary.cpuRatio, 2)} the default registry's (target ≤ ${TARGET}×)${summary.collectorErrors ? '; a collector FAILED' : ''}`,
)
if (summary.collectorErrors || (judged && !ok)) process.exit(1)
if (!judged) say('not judged: a judged run has ≥ 12 rounds')
