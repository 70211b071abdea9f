// The allocation-heavy loop for heap-profiler.bench.mjs, in one process: rounds of
// off / on / off (order rotated each round) where "on" is oomkit's HeapProfiler at 512 KiB with
// the given backend, started before and stopped after the timed run.
//
//   node --expose-gc benchmarks/heap-profiler-alloc.mjs <auto|datadog|inspector> <rounds> <iterations> [intervalBytes]
//   -> prints { backend, intervalBytes, rounds: [{ off1, on, off2 }] } (ms per run)
import { HeapProfiler } from '../dist/src/heap/profile/index.js'

const [backend = 'auto', roundsArg = '9', itersArg = '1500000', intervalArg = '524288'] = process.argv.slice(2)
const rounds = Number(roundsArg)
const iterations = Number(itersArg)
const INTERVAL = Number(intervalArg)

/** Builds and discards small objects, arrays and strings: what a JSON-heavy service does. */
function churn(n) {
  let sink = 0
  for (let i = 0; i < n; i++) {
    const o = { id: i, name: `user-${i}`, tags: [i & 7, 'x'], nested: { ok: (i & 1) === 0 } }
    sink += JSON.stringify(o).length
  }
  return sink
}

function timed(run) {
  globalThis.gc?.()
  const t = process.hrtime.bigint()
  run()
  return Number(process.hrtime.bigint() - t) / 1e6
}

function off() {
  return timed(() => churn(iterations))
}

let actualBackend = backend
function on() {
  const profiler = new HeapProfiler({ intervalBytes: INTERVAL, backend }).start()
  actualBackend = profiler.backend
  try {
    return timed(() => churn(iterations))
  } finally {
    profiler.stop()
  }
}

// Warm the JIT on both paths before measuring.
for (let i = 0; i < 2; i++) {
  off()
  on()
}
const out = []
for (let r = 0; r < rounds; r++) {
  const row = {}
  const order = [
    ['off1', off],
    ['on', on],
    ['off2', off],
  ]
  // Rotate so neither side always runs first after the GC.
  for (let k = 0; k < 3; k++) {
    const [name, run] = order[(k + r) % 3]
    row[name] = run()
  }
  out.push(row)
}
process.stdout.write(`${JSON.stringify({ backend: actualBackend, intervalBytes: INTERVAL, iterations, rounds: out })}\n`)
