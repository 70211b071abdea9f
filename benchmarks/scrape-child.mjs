// One side of scrape.bench.mjs, in its own process: a registry with prom-client's default metrics
// (`default`), the same plus oomkit's collectors with 20 caches and 5 tracked generic-pool pools
// (`oomkit`), or the default metrics plus 400 labelled prom-client gauges (`floor`: the
// formatting any ~400 series cost in prom-client), scraped `scrapes` times in a row after `warmup` scrapes. Prints one JSON line: CPU
// µs and wall µs per scrape, the bytes of the last scrape, its series count.
//
//   node benchmarks/scrape-child.mjs <default|floor|oomkit> <scrapes> [warmup]
import genericPool from 'generic-pool'
import { pino } from 'pino'
import client from 'prom-client'

const [side, scrapesArg, warmupArg] = process.argv.slice(2)
const scrapes = Number(scrapesArg ?? 200)
const warmup = Number(warmupArg ?? 20)
const registry = new client.Registry()
let kit = null
const pools = []
if (side === 'oomkit') {
  const { createOomkit } = await import('../dist/src/index.js')
  // The registry gets prom-client's default metrics from oomkit (its default), as an app's would.
  kit = createOomkit({ logger: pino({ level: 'warn' }, pino.destination(2)), registry, logIntervalMs: 0 }).start()
  for (let i = 0; i < 20; i++) {
    const cache = kit.cache(`cache-${i}`, { max: 1000, ...(i % 4 === 0 ? { maxBytes: 1 << 20 } : {}) })
    for (let k = 0; k < 200; k++) cache.set(`k${k}`, `value-${k}`)
    for (let k = 0; k < 300; k++) cache.get(`k${k}`)
  }
  for (let i = 0; i < 5; i++) {
    const pool = genericPool.createPool({ create: async () => ({}), destroy: async () => {} }, { max: 10 })
    kit.leaks.trackPool(pool, { name: `pool-${i}` })
    const held = await Promise.all([pool.acquire(), pool.acquire()])
    await pool.release(held[0])
    pools.push(pool)
  }
} else if (side === 'default') {
  client.collectDefaultMetrics({ register: registry })
} else if (side === 'floor') {
  // prom-client's own formatting of as many labelled series as oomkit's side adds (~400), with
  // nothing to read: what any producer of those series pays in prom-client, oomkit or not.
  client.collectDefaultMetrics({ register: registry })
  for (let f = 0; f < 20; f++) {
    const gauge = new client.Gauge({ name: `floor_family_${f}`, help: 'A labelled gauge.', labelNames: ['cache'], registers: [registry] })
    for (let i = 0; i < 20; i++) gauge.set({ cache: `cache-${i}` }, i * 1000 + f)
  }
} else {
  console.error('usage: scrape-child.mjs <default|floor|oomkit> <scrapes> [warmup]')
  process.exit(2)
}

let text = ''
for (let i = 0; i < warmup; i++) text = await registry.metrics()
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let i = 0; i < scrapes; i++) text = await registry.metrics()
const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / scrapes
const cpu = process.cpuUsage(cpu0)
const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length
const errors = /^oomkit_collector_errors_total\{[^}]*\} [1-9]/m.test(text)
await kit?.stop()
process.stdout.write(
  `${JSON.stringify({ side, cpuUsPerScrape: (cpu.user + cpu.system) / scrapes, wallUsPerScrape: wallUs, bytes: Buffer.byteLength(text), series, errors })}\n`,
)
process.exit(0)
