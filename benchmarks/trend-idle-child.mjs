// One side of trend-idle.bench.mjs: an idle service for `seconds`, then one JSON line with the CPU
// time it used. mode: bare (no oomkit); oomkit (defaults: sampler, heap profile, trend, watchdog,
// metrics, memory log, but not prom-client's default metrics); fast (the same with the working set
// above warnRatio: the watchdog samples every 500 ms); defaults (oomkit exactly at its defaults,
// prom-client's default metrics included). cgroupRoot and procRoot (argv) point oomkit at a tree.
import { pino } from 'pino'
import { Registry } from 'prom-client'

const [mode, seconds, cgroupRoot, procRoot] = process.argv.slice(2)
const keepAlive = setInterval(() => {}, 1000)
let kit = null
if (mode !== 'bare') {
  const { createOomkit } = await import('../dist/src/index.js')
  kit = createOomkit({
    logger: pino({ level: 'error' }, pino.destination(2)),
    registry: new Registry(),
    cgroupRoot,
    procRoot,
    defaultMetrics: mode === 'defaults',
  }).start()
}
// Let start-up (imports, the profiler's first read, JIT) settle before measuring.
await new Promise((r) => setTimeout(r, 2000))
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await new Promise((r) => setTimeout(r, Number(seconds) * 1000))
const cpu = process.cpuUsage(cpu0)
const wallMs = performance.now() - t0
const report = kit?.report()
await kit?.stop()
clearInterval(keepAlive)
process.stdout.write(`${JSON.stringify({ mode, cpuMs: (cpu.user + cpu.system) / 1000, wallMs, fast: report?.trend?.watchdog.fast ?? false })}\n`)
