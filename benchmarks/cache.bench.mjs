// What oomkit's bounded cache costs against raw lru-cache, quick-lru and a plain Map-based LRU.
//
//   node --expose-gc benchmarks/cache.bench.mjs [--quick] [--rounds N] [--sizes 10000,1000000] [--ops N] [--json]
//
// Needs dist/ (`npm run build`). oomkit's cache is `kit.cache()` of a started instance, with its
// metrics registered (a scrape after every round checks that they count) and the sampler ticking.
// Per size, every round builds each implementation afresh (the order rotates every round) and
// times, on the same pre-generated string keys and index sequences:
//
//   get-hit     lookups of keys that are all present (the prefilled working set);
//   hit-heavy   cache-aside, get then set on a miss, over N/0.9 keys (about 90% hits);
//   miss-heavy  the same over 10·N keys (about 10% hits);
//   set         sets over 2·N keys (half of them insert and evict).
//
// Two more rows, with no target, compare size tracking on both sides: oomkit with a byte bound
// (the default sizeOf on every set) against lru-cache with maxSize and a sizeCalculation.
//
// Each workload's loop is compiled once per implementation (new Function), so that no call site
// is shared between implementations. Throughput in million operations per second; the summary is
// the median over rounds and the per-round ratio to lru-cache. Times are this process's CPU time
// (process.cpuUsage), not wall time: on a shared machine, time spent waiting for a core is not
// the cache's cost (GC helper threads do count, for every implementation alike). Exit 1 when oomkit's median ratio
// on get-hit or on set is under 0.9 at any size.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { LRUCache } from 'lru-cache'
import QuickLRU from 'quick-lru'
import { Registry } from 'prom-client'
import { pino } from 'pino'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, '..', 'dist', 'src', 'cache', 'index.js'))) {
  console.error('missing dist/src/cache/index.js: run `npm run build` first')
  process.exit(2)
}
const { createOomkit } = await import('../dist/src/index.js')
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    sizes: { type: 'string' },
    ops: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const rounds = Number(args.rounds ?? (args.quick ? 5 : 9))
const sizes = (args.sizes ?? (args.quick ? '10000' : '10000,1000000')).split(',').map(Number)
const OPS = Number(args.ops ?? (args.quick ? 300_000 : 1_000_000))
const TARGET = 0.9
const gc = globalThis.gc ?? (() => {})

/** A Map-based LRU: delete and re-set on every hit, evict the first key. */
class MapLRU {
  constructor(max) {
    this.max = max
    this.map = new Map()
  }
  get(k) {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }
  set(k, v) {
    if (this.map.has(k)) this.map.delete(k)
    else if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value)
    this.map.set(k, v)
    return this
  }
}

const kits = []
const IMPLS = {
  oomkit(max) {
    const registry = new Registry()
    const kit = createOomkit({
      registry,
      logger: pino({ level: 'silent' }),
      logIntervalMs: 0,
      defaultMetrics: false,
      heapProfile: false,
      snapshot: false,
      sampleIntervalMs: 1000,
    }).start()
    kits.push({ kit, registry })
    return kit.cache(`bench-${kits.length}`, { max })
  },
  'lru-cache': (max) => new LRUCache({ max }),
  'quick-lru': (maxSize) => new QuickLRU({ maxSize }),
  'map-lru': (max) => new MapLRU(max),
  // Informational (no target): both sides tracking sizes, as a byte bound needs.
  'oomkit+bytes'(max) {
    const { kit } = kits[0]
    return kit.cache(`bench-bytes-${kits.length}-${Math.random()}`, { max, maxBytes: 2 ** 40 })
  },
  'lru-cache+size': (max) => new LRUCache({ max, maxSize: 2 ** 40, sizeCalculation: (v, k) => v.length + k.length + 112 }),
}
const NAMES = Object.keys(IMPLS)

const BODIES = {
  prefill: 'for (let i = 0; i < n; i++) cache.set(keys[i], vals[i & 63]); return n',
  'get-hit': 'let h = 0; for (let i = 0; i < n; i++) if (cache.get(keys[idx[i]]) !== undefined) h++; return h',
  'hit-heavy':
    'let h = 0; for (let i = 0; i < n; i++) { const k = keys[idx[i]]; if (cache.get(k) !== undefined) h++; else cache.set(k, vals[i & 63]) } return h',
  'miss-heavy':
    'let h = 0; for (let i = 0; i < n; i++) { const k = keys[idx[i]]; if (cache.get(k) !== undefined) h++; else cache.set(k, vals[i & 63]) } return h',
  set: 'for (let i = 0; i < n; i++) cache.set(keys[idx[i]], vals[i & 63]); return n',
}
const WORKLOADS = ['get-hit', 'hit-heavy', 'miss-heavy', 'set']
// One compiled loop per implementation and workload: no shared feedback between implementations.
const loops = Object.fromEntries(
  NAMES.map((name) => [name, Object.fromEntries(Object.entries(BODIES).map(([w, body]) => [w, new Function('cache', 'keys', 'idx', 'vals', 'n', body)]))]),
)

// The Map-based LRU evicts with keys().next(), which walks over the deleted entries V8 keeps at
// the front of the table until it rehashes: ~0.1 Mops/s where every set evicts. A twentieth of
// the operations measures it as well and keeps the run to minutes.
const opsFor = (name, w) => (name === 'map-lru' && (w === 'miss-heavy' || w === 'set') ? Math.ceil(OPS / 20) : OPS)

function xorshift(seed) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

function indices(space, n, seed) {
  const rnd = xorshift(seed)
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * space)
  return out
}

/** CPU time of this process (user + system), in ms: other processes on a loaded machine do not count. */
function cpuMs() {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const vals = Array.from({ length: 64 }, (_, i) => `value-${'x'.repeat(i % 40)}-${i}`)

function runSize(size) {
  const space = { 'get-hit': size, 'hit-heavy': Math.ceil(size / 0.9), 'miss-heavy': size * 10, set: size * 2 }
  const keys = Array.from({ length: space['miss-heavy'] }, (_, i) => `key:${i}:${(i * 2654435761) >>> 0}`)
  const idx = Object.fromEntries(WORKLOADS.map((w, j) => [w, indices(space[w], OPS, 0x9e3779b9 + j)]))
  const results = Object.fromEntries(NAMES.map((n) => [n, Object.fromEntries(WORKLOADS.map((w) => [w, []]))]))
  for (let round = 0; round < rounds; round++) {
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length])
    for (const name of order) {
      const cache = IMPLS[name](size)
      const loop = loops[name]
      loop.prefill(cache, keys, null, vals, size)
      for (const w of WORKLOADS) {
        const ops = opsFor(name, w)
        gc()
        const t0 = cpuMs()
        loop[w](cache, keys, idx[w], vals, ops)
        results[name][w].push(ops / (cpuMs() - t0) / 1000)
      }
    }
    process.stderr.write(`size ${size}: round ${round + 1}/${rounds} done\n`)
  }
  return results
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const summary = []
let failed = false
console.log(`node ${process.version}, ${rounds} rounds, ${OPS} ops per workload, sizes ${sizes.join(', ')}`)
for (const size of sizes) {
  const r = runSize(size)
  for (const w of WORKLOADS) {
    const base = r['lru-cache'][w]
    for (const name of NAMES) {
      const ratios = r[name][w].map((v, i) => v / base[i])
      const row = { size, workload: w, impl: name, mops: median(r[name][w]), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }
      summary.push(row)
      if (name === 'oomkit' && (w === 'get-hit' || w === 'set') && row.ratio < TARGET) failed = true
    }
  }
}

// The metrics were on: a scrape of each instance shows the counters moving.
let counted = 0
for (const { kit, registry } of kits) {
  const text = await registry.metrics()
  const m = /^oomkit_cache_hits_total\{cache="[^"]+"\} (\d+)$/m.exec(text)
  if (m !== null && Number(m[1]) > 0) counted++
  await kit.stop()
}
if (counted !== kits.length) {
  console.error(`only ${counted} of ${kits.length} instances showed their cache's hits in a scrape`)
  failed = true
}

if (args.json) console.log(JSON.stringify(summary))
console.log('\n| entries | workload | implementation | Mops/s (median) | vs lru-cache (median, range) |')
console.log('|---|---|---|---|---|')
for (const s of summary) {
  console.log(
    `| ${s.size.toLocaleString('en')} | ${s.workload} | ${s.impl} | ${s.mops.toFixed(2)} | ${s.ratio.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)}) |`,
  )
}
console.log(failed ? `\noomkit's cache is under ${TARGET}× lru-cache on get-hit or set` : `\noomkit's cache keeps ≥ ${TARGET}× lru-cache on get-hit and set`)
process.exit(failed ? 1 : 0)
