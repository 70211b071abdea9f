// What v8.writeHeapSnapshot() really costs, and whether oomkit's estimate covers it.
//
//   node --expose-gc benchmarks/heap-snapshot.bench.mjs [--quick] [--rounds N]
//        [--shapes small-objects,mixed] [--sizes 20,50] [--max-ratio 1.5] [--json] [--out file.json]
//        [--profile]
//
// Needs the built model: `npm run build` (src/heap/snapshot/cost.ts, read through
// dist/src/heap/snapshot/index.js). Each (shape, size) case runs in a fresh child process
// (heap-snapshot-child.mjs) so one case's heap, malloc arenas and snapshot leftovers never
// inflate the next. While the child is inside writeHeapSnapshot (its main thread is blocked),
// this process polls /proc/<pid>/statm every POLL_MS; the child also resets and reads the
// kernel's RSS high-water mark (VmHWM), which is exact. Peak extra = peak RSS - RSS just
// before the call.
//
// The full run adds probes (the extremes the coefficients come from) to the four shapes and
// runs every case `rounds` times; --quick runs the four shapes at 20 and 50 MB once.
//
// --profile runs @datadog/pprof's sampling heap profiler in each child from its start (as oomkit
// runs it always-on) and records the candidate model inputs read from its live samples
// (`sampleFeatures` in --json and --out): README, "Inputs from the sampling heap profile".
//
// Exit code: 1 when, for any case, estimate / measured < 1 (the guard would let the snapshot
// kill the pod) or a case failed; 3 when the only failures are estimate / measured > max-ratio
// (the guard would refuse a snapshot that fits); 0 otherwise.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = path.dirname(fileURLToPath(import.meta.url))
const modelPath = path.join(here, '..', 'dist', 'src', 'heap', 'snapshot', 'index.js')
if (!fs.existsSync(modelPath)) {
  console.error(`missing ${path.relative(process.cwd(), modelPath)}: run \`npm run build\` first`)
  process.exit(2)
}
const { estimateSnapshotCost, SNAPSHOT_COST_COEFFICIENTS } = await import(modelPath)

const POLL_MS = 5
const CASE_TIMEOUT_MS = 10 * 60_000
const SHAPES = ['small-objects', 'big-strings', 'big-arrays', 'mixed']
/** Extremes the coefficients were derived from; run only when named in --shapes. */
const PROBES = ['ref-array', 'boxed-numbers', 'short-strings']
const FULL_SIZES = [20, 50, 100, 200, 500]
const QUICK_SIZES = [20, 50]
/** Sizes per shape where the full list is too heavy: one array of references costs ~150x. */
const SIZES_BY_SHAPE = { 'ref-array': [5, 20, 50] }

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    shapes: { type: 'string' },
    sizes: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    'max-ratio': { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
})
const shapes = args.shapes ? args.shapes.split(',') : args.quick ? SHAPES : [...SHAPES, ...PROBES]
const sizeList = args.sizes ? args.sizes.split(',').map(Number) : args.quick ? QUICK_SIZES : FULL_SIZES
const sizesFor = (shape) => (args.sizes || args.quick ? sizeList : (SIZES_BY_SHAPE[shape] ?? sizeList))
const rounds = Number(args.rounds ?? (args.quick ? 1 : 2))
const maxRatio = Number(args['max-ratio'] ?? 1.5)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer >= 1, got ${args.rounds}`)
if (!(maxRatio >= 1)) throw new Error(`--max-ratio must be a number >= 1, got ${args['max-ratio']}`)
for (const s of shapes) {
  if (!SHAPES.includes(s) && !PROBES.includes(s)) {
    throw new Error(`unknown shape ${s}; expected one of ${[...SHAPES, ...PROBES].join(', ')}`)
  }
}

/** A temp dir on a real disk: the snapshot file must not land in RAM (tmpfs counts as memory). */
function snapshotDir() {
  const isTmpfs = (p) => {
    let best = { len: -1, type: '' }
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, type] = line.split(' ')
      if (!mnt) continue
      const m = mnt.replace(/\\040/g, ' ')
      if ((p === m || p.startsWith(m.endsWith('/') ? m : m + '/')) && m.length > best.len) best = { len: m.length, type }
    }
    return best.type === 'tmpfs' || best.type === 'ramfs'
  }
  let base = fs.realpathSync(os.tmpdir())
  try {
    if (isTmpfs(base)) base = '/var/tmp'
  } catch {
    // no /proc/mounts: keep os.tmpdir()
  }
  return fs.mkdtempSync(path.join(base, 'oomkit-bench-'))
}

/** Resident bytes of a process from /proc/<pid>/statm, read through a kept-open fd. */
function statmReader(pid) {
  const page = 4096
  let fd
  try {
    fd = fs.openSync(`/proc/${pid}/statm`, 'r')
  } catch {
    return null
  }
  const buf = Buffer.alloc(256)
  return {
    read() {
      try {
        const n = fs.readSync(fd, buf, 0, buf.length, 0)
        const fields = buf.toString('latin1', 0, n).split(' ')
        return Number(fields[1]) * page
      } catch {
        return 0
      }
    },
    close() {
      try {
        fs.closeSync(fd)
      } catch {
        // already gone
      }
    },
  }
}

/** Runs one case in a fresh child; resolves with its JSON plus the parent-sampled peak. */
function runCase(shape, sizeMB, dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=8192', path.join(here, 'heap-snapshot-child.mjs'), shape, String(sizeMB), dir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OOMKIT_BENCH_PROFILE: args.profile ? '1' : '0' } },
    )
    const statm = statmReader(child.pid)
    let inWindow = false
    let sampledPeak = 0
    let samples = 0
    let stdout = ''
    let stderr = ''
    const poll = setInterval(() => {
      if (!inWindow || !statm) return
      const rss = statm.read()
      samples++
      if (rss > sampledPeak) sampledPeak = rss
    }, POLL_MS)
    const timeout = setTimeout(() => {
      child.kill('SIGKILL')
    }, CASE_TIMEOUT_MS)
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c) => {
      stderr += c
      if (!inWindow && stderr.includes('SNAPSHOT_START')) inWindow = true
      if (stderr.includes('SNAPSHOT_END')) inWindow = false
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearInterval(poll)
      clearTimeout(timeout)
      statm?.close()
      if (code !== 0) {
        reject(new Error(`${shape} ${sizeMB} MB: child exited ${code ?? signal}\n${stderr.trim()}`))
        return
      }
      const result = JSON.parse(stdout.trim().split('\n').pop())
      resolve({ ...result, sampledPeak, samples })
    })
  })
}

const MB = 1e6
const fmtMB = (b) => (b / MB).toFixed(b >= 100 * MB ? 0 : 1)
const pad = (s, n) => String(s).padStart(n)

console.log(
  `node ${process.version}, ${os.cpus().length} cpus, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `${rounds} round(s), poll ${POLL_MS} ms, bounds 1.00..${maxRatio.toFixed(2)}`,
)
console.log('model coefficients:', JSON.stringify(SNAPSHOT_COST_COEFFICIENTS))
const header =
  `${'shape'.padEnd(14)}${pad('heapMB', 8)}${pad('totalMB', 8)}${pad('rss0MB', 8)}${pad('nodes', 10)}${pad('edges', 11)}` +
  `${pad('ms', 7)}${pad('extraMB', 9)}${pad('x/heap', 8)}${pad('fileMB', 8)}${pad('estMB', 9)}${pad('est/x', 9)}`
console.log(header)

const dir = snapshotDir()
const started = performance.now()
const results = []
let under = false
let over = false
let crashed = false
try {
  for (let round = 1; round <= rounds; round++) {
    for (const shape of shapes) {
      for (const size of sizesFor(shape)) {
        let r
        try {
          r = await runCase(shape, size, dir)
        } catch (err) {
          console.error(String(err.message ?? err))
          crashed = true
          continue
        }
        const peak = Math.max(r.peakRssHwm ?? 0, r.sampledPeak)
        const extra = Math.max(1, peak - r.rssBefore)
        const estimate = estimateSnapshotCost(r.costInput)
        const ratio = estimate / extra
        const row = { round, ...r, peakRss: peak, extra, estimate, ratio }
        results.push(row)
        const flag = ratio < 1 ? '  UNDER' : ratio > maxRatio ? '  OVER' : ''
        console.log(
          `${shape.padEnd(14)}${pad(fmtMB(r.heapUsed), 8)}${pad(fmtMB(r.heapTotal), 8)}${pad(fmtMB(r.rssBefore), 8)}` +
            `${pad(r.nodeCount, 10)}${pad(r.edgeCount, 11)}${pad(r.snapshotMs, 7)}${pad(fmtMB(extra), 9)}` +
            `${pad((extra / r.heapUsed).toFixed(2), 8)}${pad(fmtMB(r.fileBytes), 8)}${pad(fmtMB(estimate), 9)}` +
            `${pad(ratio.toFixed(2), 9)}${flag}`,
        )
        if (args.json)
          console.log(
            JSON.stringify({
              shape,
              targetMB: size,
              round,
              heapUsed: r.heapUsed,
              heapTotal: r.heapTotal,
              rssBefore: r.rssBefore,
              peakExtraRss: extra,
              sampledPeakExtraRss: r.sampledPeak ? r.sampledPeak - r.rssBefore : null,
              hwmPeakExtraRss: r.peakRssHwm ? r.peakRssHwm - r.rssBefore : null,
              snapshotMs: r.snapshotMs,
              fileBytes: r.fileBytes,
              nodeCount: r.nodeCount,
              edgeCount: r.edgeCount,
              extraPerHeapUsed: +(extra / r.heapUsed).toFixed(3),
              estimate,
              estimatePerMeasured: +ratio.toFixed(3),
              ...(r.sampleFeatures ? { sampleFeatures: r.sampleFeatures } : {}),
            }),
          )
        if (ratio < 1) under = true
        if (ratio > maxRatio) over = true
      }
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}

const seconds = (performance.now() - started) / 1000
if (args.out) fs.writeFileSync(args.out, JSON.stringify({ node: process.version, seconds, results }, null, 2))

// One row per case for benchmarks/README.md: the worst round (largest peak), its spread over
// rounds, the median time, and the lowest estimate / peak of any round.
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log('\n| shape | heap used MB | nodes | edges | snapshot s | peak extra RSS MB | spread | extra / heap | file / heap | estimate MB | estimate / peak |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
const cases = new Map()
for (const r of results) {
  const key = `${r.shape} ${r.targetMB}`
  cases.set(key, [...(cases.get(key) ?? []), r])
}
for (const rs of cases.values()) {
  const w = rs.reduce((a, b) => (b.extra > a.extra ? b : a))
  const least = Math.min(...rs.map((r) => r.extra))
  const minRatio = Math.min(...rs.map((r) => r.ratio))
  const spread = rs.length > 1 ? `${(((w.extra - least) / w.extra) * 100).toFixed(0)}%` : '-'
  console.log(
    `| ${w.shape} | ${fmtMB(w.heapUsed)} | ${w.nodeCount.toLocaleString('en-US')} | ${w.edgeCount.toLocaleString('en-US')} | ` +
      `${(median(rs.map((r) => r.snapshotMs)) / 1000).toFixed(1)} | ${fmtMB(w.extra)} | ${spread} | ${(w.extra / w.heapUsed).toFixed(1)}x | ` +
      `${(w.fileBytes / w.heapUsed).toFixed(2)}x | ${fmtMB(w.estimate)} | ${minRatio.toFixed(2)} |`,
  )
}

const worstLow = results.reduce((m, r) => Math.min(m, r.ratio), Infinity)
const worstHigh = results.reduce((m, r) => Math.max(m, r.ratio), 0)
const verdict = crashed || under ? 'FAIL' : over ? `OVER (estimate above ${maxRatio}x the measured peak)` : 'ok'
console.log(
  `\n${results.length} runs in ${seconds.toFixed(0)} s; estimate/measured from ${worstLow.toFixed(2)} to ` +
    `${worstHigh.toFixed(2)} (bounds 1.00..${maxRatio.toFixed(2)}): ${verdict}`,
)
process.exitCode = crashed || under ? 1 : over ? 3 : 0
