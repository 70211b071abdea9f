// What the sampler, trend and watchdog cost an idle service, in CPU time.
//
//   node benchmarks/trend-idle.bench.mjs [--quick] [--rounds N] [--seconds S] [--json]
//
// Needs dist/ (`npm run build`). Four idle services run side by side for S seconds each round
// (60 by default, 20 with --quick): bare Node; oomkit at its defaults without prom-client's default
// metrics (what the sampler, trend and watchdog cost); the same with the working set above
// warnRatio (a cgroup v2 tree whose memory.current says 90% of the limit: the watchdog samples
// every 500 ms); and oomkit exactly at its defaults, prom-client's default metrics included (their
// event-loop-delay monitor wakes the process every 10 ms: reported, not a target of oomkit's). Each reports process.cpuUsage() over its window; the cost is its CPU time
// minus bare Node's in the same round, as a share of one core. Idle processes barely use a core,
// so running the sides at once does not skew them; the start order rotates every round.
// Targets (issue 8): under 0.5% of one core at the defaults, under 2% while sampling fast.
// Exit code 1 when a median misses its target.
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { median } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean', default: false } },
})
const rounds = Number(args.rounds ?? (args.quick ? 2 : 3))
const seconds = Number(args.seconds ?? (args.quick ? 20 : 60))
const TARGETS = { oomkit: 0.005, fast: 0.02 }

const root = mkdtempSync(join(tmpdir(), 'oomkit-trend-bench-'))
const fixture = join(here, '..', 'test', 'fixtures', 'cgroup', 'v2-limited-256m')
const trees = {}
for (const [name, ratio] of [
  ['calm', 0.5],
  ['hot', 0.9],
]) {
  const dir = join(root, name)
  cpSync(fixture, dir, { recursive: true })
  // inactive_file is 25165824 in the fixture, the limit 268435456.
  writeFileSync(join(dir, 'sys/fs/cgroup/memory.current'), `${Math.round(268435456 * ratio) + 25165824}\n`)
  trees[name] = dir
}

function side(mode) {
  const tree = trees[mode === 'fast' ? 'hot' : 'calm']
  const child = spawn(process.execPath, [join(here, 'trend-idle-child.mjs'), mode, String(seconds), join(tree, 'sys/fs/cgroup'), join(tree, 'proc')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${mode} exited ${code}`))
    })
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)))
  })
}

const modes = ['bare', 'oomkit', 'fast', 'defaults']
const results = []
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, ${rounds} rounds of ${seconds} s`)
try {
  for (let r = 0; r < rounds; r++) {
    const order = modes.map((_m, i) => modes[(i + r) % modes.length])
    const out = Object.fromEntries((await Promise.all(order.map(side))).map((o) => [o.mode, o]))
    const share = (m) => (out[m].cpuMs - out.bare.cpuMs) / out[m].wallMs
    results.push({
      bareShare: out.bare.cpuMs / out.bare.wallMs,
      oomkit: share('oomkit'),
      fast: share('fast'),
      defaults: share('defaults'),
      fastSampling: out.fast.fast,
    })
    const last = results.at(-1)
    console.log(
      `round ${r + 1}: bare ${(last.bareShare * 100).toFixed(3)}% of a core; oomkit +${(last.oomkit * 100).toFixed(3)}%; watchdog fast (${last.fastSampling ? 'on' : 'OFF'}) +${(last.fast * 100).toFixed(3)}%; with prom-client defaults +${(last.defaults * 100).toFixed(3)}%`,
    )
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
const summary = {
  node: process.version,
  rounds,
  seconds,
  oomkit: median(results.map((r) => r.oomkit)),
  fast: median(results.map((r) => r.fast)),
  defaults: median(results.map((r) => r.defaults)),
  fastSampling: results.every((r) => r.fastSampling),
}
console.log(
  `median: sampler, trend and watchdog +${(summary.oomkit * 100).toFixed(3)}% of one core (target < ${TARGETS.oomkit * 100}%), sampling fast +${(summary.fast * 100).toFixed(3)}% (target < ${TARGETS.fast * 100}%); with prom-client's default metrics +${(summary.defaults * 100).toFixed(3)}%`,
)
if (args.json) console.log(JSON.stringify(summary))
const ok = summary.oomkit < TARGETS.oomkit && summary.fast < TARGETS.fast && summary.fastSampling
if (!ok) console.error('trend-idle: a target was missed (or the fast side did not sample fast)')
process.exit(ok ? 0 : 1)
