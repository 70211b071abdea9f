// One heap-snapshot measurement in a fresh process, driven by heap-snapshot.bench.mjs.
//
//   node --expose-gc --max-old-space-size=8192 benchmarks/heap-snapshot-child.mjs <shape> <targetMB> [dir]
//
// Builds a heap of the given shape until ~targetMB of heap is used after a full GC, reads the
// model's input (the same call the guard makes), resets the kernel's RSS high-water mark, takes
// v8.writeHeapSnapshot() and prints one JSON line on stdout. Just before the blocking call it
// writes "SNAPSHOT_START\n" on stderr (synchronously) so the parent, which polls
// /proc/<pid>/statm every few ms, knows where the window starts.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import v8 from 'node:v8'
import { createRequire } from 'node:module'
import { readHeapCostInput } from '../dist/src/heap/snapshot/index.js'

const [shape, targetArg, dirArg] = process.argv.slice(2)
const targetBytes = Number(targetArg) * 1e6
if (!shape || !Number.isFinite(targetBytes) || targetBytes <= 0) {
  process.stderr.write('usage: heap-snapshot-child.mjs <shape> <targetMB> [dir]\n')
  process.exit(2)
}
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with --expose-gc\n')
  process.exit(2)
}
const gc = globalThis.gc
const PAGE = 4096

// With OOMKIT_BENCH_PROFILE=1 (the bench's --profile), the sampling heap profiler runs as oomkit
// runs it always-on (@datadog/pprof backend, 512 KiB interval), started before the heap is
// built, and the JSON line gets `sampleFeatures`: the candidate cost-model inputs read from its
// live samples (README, "Inputs from the sampling heap profile"). Off by default: the profiler
// adds ~0.8 MB to the heap, which changes what the smallest cases build.
const SAMPLING_INTERVAL = 524_288
const ddHeap = process.env.OOMKIT_BENCH_PROFILE === '1' ? loadDatadogHeap() : null
ddHeap?.start(SAMPLING_INTERVAL, 64)

function loadDatadogHeap() {
  try {
    return createRequire(import.meta.url)('@datadog/pprof').heap
  } catch (err) {
    process.stderr.write(`OOMKIT_BENCH_PROFILE=1 needs @datadog/pprof: ${err.message}\n`)
    process.exit(2)
  }
}

/** Everything the shape builds hangs from here, so nothing is collected. */
const retained = []

function usedAfterGc() {
  gc()
  return v8.getHeapStatistics().used_heap_size
}

/**
 * Calls addChunk() until the heap used after a full GC reaches the target. Checks cheaply
 * (without GC) most of the time, since the builders retain nearly all they allocate.
 */
function fillTo(addChunk) {
  for (;;) {
    addChunk()
    if (v8.getHeapStatistics().used_heap_size < targetBytes) continue
    if (usedAfterGc() >= targetBytes) return
  }
}

const builders = {
  /**
   * Many small records with short strings, all in one array (`records.push()`, as services
   * do): the case MEASURED.md describes. The array itself ends up in large_object_space.
   */
  'small-objects'() {
    const records = []
    retained.push(records)
    let i = 0
    fillTo(() => {
      for (let k = 0; k < 1000; k++, i++) {
        records.push({
          id: i,
          name: 'user-' + i,
          tags: ['tag-' + (i % 16), 'grp-' + (i % 5)],
          n: i,
        })
      }
    })
  },

  /** Few large strings (1 MB each, unique content): large_object_space, few nodes. */
  'big-strings'() {
    fillTo(() => {
      // Node makes strings over ~1 MB from Buffer.toString() external (outside the V8 heap):
      // join 64 KB pieces instead, which gives one flat 1 MB string on the heap.
      const parts = []
      for (let k = 0; k < 16; k++) parts.push(crypto.randomBytes(32 * 1024).toString('hex'))
      retained.push(parts.join(''))
    })
  },

  /**
   * Large arrays, 1e6 elements each (8 MB backing stores in large_object_space), in turn:
   * small ints (SMIs, no edges), doubles (unboxed, no edges), and references to a pool of
   * shared objects (one edge per element: the expensive kind).
   */
  'big-arrays'() {
    const pool = Array.from({ length: 1000 }, (_, k) => ({ k, label: 'shared-' + k }))
    retained.push(pool)
    const N = 1_000_000
    let turn = 0
    fillTo(() => {
      let a
      switch (turn++ % 3) {
        case 0:
          a = new Array(N)
          for (let k = 0; k < N; k++) a[k] = (k * 7) & 0xffff
          break
        case 1:
          a = new Array(N)
          for (let k = 0; k < N; k++) a[k] = k * 0.5 + 0.25
          break
        default:
          a = new Array(N)
          for (let k = 0; k < N; k++) a[k] = pool[k % 1000]
      }
      retained.push(a)
    })
  },

  /**
   * What a service's heap tends to hold: a Map of sessions (objects, nested objects, a Date,
   * a closure with its context), a Set of ids, class instances in arrays, medium strings
   * (JSON-ish payloads), arrays of numbers, and a few small Buffers.
   */
  mixed() {
    class Order {
      constructor(id, items) {
        this.id = id
        this.items = items
        this.total = items.reduce((s, it) => s + it.price * it.qty, 0)
        this.status = id % 3 === 0 ? 'paid' : 'open'
      }
    }
    const sessions = new Map()
    const seen = new Set()
    const orders = []
    const payloads = []
    const buffers = []
    retained.push(sessions, seen, orders, payloads, buffers)
    let i = 0
    fillTo(() => {
      for (let k = 0; k < 500; k++, i++) {
        const key = 'sess-' + i.toString(36) + '-' + ((i * 2654435761) >>> 0).toString(16)
        const user = { id: i, email: 'u' + i + '@example.com', roles: i % 7 ? ['user'] : ['user', 'admin'] }
        const entry = {
          user,
          created: new Date(1700000000000 + i * 1000),
          hits: i % 100,
          prefs: { theme: i % 2 ? 'dark' : 'light', lang: 'en', tz: 'UTC+' + (i % 12) },
        }
        entry.touch = () => {
          entry.hits++
          return entry.hits
        }
        sessions.set(key, entry)
        seen.add(i)
        if (i % 4 === 0) {
          const items = []
          for (let j = 0; j < 3; j++) items.push({ sku: 'SKU' + ((i + j) % 5000), qty: 1 + j, price: 9.99 + j })
          orders.push(new Order(i, items))
        }
        if (i % 10 === 0) {
          payloads.push(JSON.stringify({ id: i, event: 'login', ua: 'Mozilla/5.0 (X11; Linux x86_64)', at: i }))
          payloads.push(Array.from({ length: 32 }, (_, j) => i + j))
        }
        if (i % 200 === 0) buffers.push(Buffer.alloc(1024, i & 0xff))
      }
    })
  },

  // Probes (not in the default run): the extremes the model's coefficients must cover.

  /**
   * One array of references to 1000 shared objects, allocated at its final length (as
   * JSON.parse, slice or map leave arrays): the most expensive large_object_space bytes.
   */
  'ref-array'() {
    const pool = Array.from({ length: 1000 }, (_, k) => ({ k }))
    const n = Math.ceil(Math.max(0, targetBytes - usedAfterGc()) / 8)
    const refs = new Array(n)
    for (let k = 0; k < n; k++) refs[k] = pool[k % 1000]
    retained.push(pool, refs)
  },

  /** Boxed doubles (16-byte HeapNumbers) in arrays of 1000: the densest old-space graph. */
  'boxed-numbers'() {
    let i = 0
    fillTo(() => {
      const a = new Array(1000)
      for (let k = 0; k < 1000; k++, i++) a[k] = i + 0.5
      a[999] = 'x' // keeps the elements generic, so each double is its own HeapNumber
      retained.push(a)
    })
  },

  /** Short unique strings in arrays of 1000. */
  'short-strings'() {
    let i = 0
    fillTo(() => {
      const a = new Array(1000)
      for (let k = 0; k < 1000; k++, i++) a[k] = 'k' + i
      retained.push(a)
    })
  },
}

const build = builders[shape]
if (!build) {
  process.stderr.write(`unknown shape ${shape}; one of ${Object.keys(builders).join(', ')}\n`)
  process.exit(2)
}

/** RSS in bytes from /proc/self/statm (second field, pages). */
function rssNow() {
  const f = fs.readFileSync('/proc/self/statm', 'utf8').split(' ')
  return Number(f[1]) * PAGE
}

/** VmHWM (peak RSS since the last reset) in bytes, or null where /proc lacks it. */
function hwm() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) * 1024 : null
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false where not allowed. */
function resetHwm() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

const t0 = performance.now()
build()
gc()
gc()
const buildMs = performance.now() - t0

const dir = dirArg ?? fs.mkdtempSync(path.join(os.tmpdir(), 'oomkit-bench-'))
const file = path.join(dir, `bench-${process.pid}.heapsnapshot`)

// Candidate inputs from the live samples (@datadog/pprof reports each allocation's own size
// and its scaled count; the inspector reports only size × count, which for objects far smaller
// than the interval is always interval..interval + size, so it cannot tell object sizes apart).
// Small objects (regular spaces): estimated count and bytes, and the count per size class;
// large ones (> 128 KiB, large-object space): each sampled size, largest first.
const sampleFeatures =
  ddHeap &&
  (() => {
    const allocs = []
    const walk = (node) => {
      for (const x of node.allocations) allocs.push([x.sizeBytes, x.count])
      for (const c of node.children) walk(c)
    }
    walk(ddHeap.v8Profile())
    let smallObjects = 0,
      smallBytes = 0,
      smallSamples = 0
    const hist = {}
    const large = []
    for (const [sz, c] of allocs) {
      if (sz > 131072) {
        for (let k = 0; k < c; k++) large.push(sz)
        continue
      }
      smallObjects += c
      smallBytes += sz * c
      smallSamples += Math.max(1, Math.round(c * (1 - Math.exp(-sz / SAMPLING_INTERVAL))))
      const b = sz <= 16 ? 16 : sz <= 24 ? 24 : sz <= 32 ? 32 : sz <= 48 ? 48 : sz <= 64 ? 64 : sz <= 128 ? 128 : sz <= 1024 ? 1024 : 131072
      hist[b] = (hist[b] ?? 0) + c
    }
    large.sort((x, y) => y - x)
    return { smallSamples, smallObjects, smallBytes, hist, large: large.slice(0, 50), largeCount: large.length, largeBytes: large.reduce((x, y) => x + y, 0) }
  })()

if (ddHeap) {
  gc()
  gc()
}
// The model's input, read exactly as the guard would just before deciding.
const costInput = readHeapCostInput()
const heapStats = v8.getHeapStatistics()
const spaces = v8.getHeapSpaceStatistics()
const mem = process.memoryUsage()

const hwmReset = resetHwm()
const rssBefore = rssNow()
fs.writeSync(2, `SNAPSHOT_START ${rssBefore}\n`)
const s0 = performance.now()
v8.writeHeapSnapshot(file)
const snapshotMs = performance.now() - s0
const rssAfter = rssNow()
const peakHwm = hwmReset ? hwm() : null
fs.writeSync(2, 'SNAPSHOT_END\n')

const fileBytes = fs.statSync(file).size
let nodeCount = null
let edgeCount = null
{
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.alloc(64 * 1024)
  const n = fs.readSync(fd, buf, 0, buf.length, 0)
  fs.closeSync(fd)
  const head = buf.toString('utf8', 0, n)
  nodeCount = Number(/"node_count":(\d+)/.exec(head)?.[1] ?? NaN)
  edgeCount = Number(/"edge_count":(\d+)/.exec(head)?.[1] ?? NaN)
}
fs.rmSync(file, { force: true })
if (!dirArg) fs.rmSync(dir, { recursive: true, force: true })

process.stdout.write(
  JSON.stringify({
    shape,
    targetMB: Number(targetArg),
    buildMs: Math.round(buildMs),
    heapUsed: heapStats.used_heap_size,
    heapTotal: heapStats.total_heap_size,
    nativeContexts: heapStats.number_of_native_contexts,
    mallocedMemory: heapStats.malloced_memory,
    externalMemory: heapStats.external_memory,
    spaces: Object.fromEntries(spaces.map((s) => [s.space_name, s.space_used_size])),
    costInput,
    ...(sampleFeatures ? { sampleFeatures } : {}),
    memoryUsage: mem,
    rssBefore,
    rssAfter,
    peakRssHwm: peakHwm,
    snapshotMs: Math.round(snapshotMs),
    fileBytes,
    nodeCount,
    edgeCount,
  }) + '\n',
)
