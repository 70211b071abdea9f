// What an instance does with its caches on every sample: a maxBytes share of the container limit
// follows the limit (cgroup fixture trees whose memory.max is rewritten), expired entries are
// swept, and the memory line lists the caches.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { SWEEP_BATCH, boundedCacheBytes, createCache } from '../../src/cache/index.js'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { fixture } from '../fixtures/cgroup/expected.js'
import { captureLogger, until } from '../helpers/http.js'

const MiB = 1024 * 1024
const kits: Oomkit[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A writable copy of a fixture tree, and the file that holds its limit. */
function writableFixture(name: string, limitFile: string): { cgroupRoot: string; procRoot: string; setLimit(v: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'oomkit-cache-'))
  dirs.push(dir)
  cpSync(fixture(name).root, dir, { recursive: true })
  const setLimit = (v: string): void => {
    writeFileSync(join(dir, limitFile), `${v}\n`)
    // cgroup v1 also shows the limit in memory.stat (the smallest along the path), as the kernel would.
    if (limitFile.endsWith('memory.limit_in_bytes')) {
      const stat = join(dir, limitFile.replace(/memory\.limit_in_bytes$/, 'memory.stat'))
      writeFileSync(stat, readFileSync(stat, 'utf8').replace(/^hierarchical_memory_limit \d+$/m, `hierarchical_memory_limit ${v}`))
    }
  }
  return { cgroupRoot: join(dir, 'sys/fs/cgroup'), procRoot: join(dir, 'proc'), setLimit }
}

function start(
  roots: { cgroupRoot: string; procRoot: string },
  logIntervalMs = 0,
): { kit: Oomkit; registry: Registry; lines: ReturnType<typeof captureLogger>['lines'] } {
  const registry = new Registry()
  const cap = captureLogger()
  const kit = createOomkit({
    cgroupRoot: roots.cgroupRoot,
    procRoot: roots.procRoot,
    logger: cap.logger,
    registry,
    logIntervalMs,
    sampleIntervalMs: 100,
    defaultMetrics: false,
    heapProfile: false,
  })
  kits.push(kit)
  return { kit, registry, lines: cap.lines }
}

const ONE_MIB = (): number => MiB

describe('maxBytes as a share of the container limit follows the limit', () => {
  for (const [name, file] of [
    ['v2-limited-256m', 'sys/fs/cgroup/memory.max'],
    ['v1-limited-256m', 'sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.limit_in_bytes'],
  ] as const) {
    it(`${name}: 10% of 256 MiB, then of 128 MiB (evicting down at once), then of 512 MiB, then of no limit`, async () => {
      const fx = writableFixture(name, file)
      const { kit, registry, lines } = start(fx)
      const cache = kit.cache<number, string>('share', { maxBytes: '10%', sizeOf: ONE_MIB })
      kit.start()
      expect(cache.stats().maxBytes).toBe(Math.floor(0.1 * 256 * MiB))
      for (let i = 0; i < 100; i++) cache.set(i, 'v')
      expect(cache.size).toBe(25)
      expect(await registry.metrics()).toMatch(new RegExp(`^oomkit_cache_max_bytes\\{cache="share"\\} ${Math.floor(0.1 * 256 * MiB)}$`, 'm'))

      fx.setLimit(String(128 * MiB))
      await until(() => cache.stats().maxBytes === Math.floor(0.1 * 128 * MiB), 'the bound to follow the limit down')
      expect(cache.size).toBe(12)
      expect(cache.stats().evictions.capacity).toBe(75 + 13)
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, cache: 'share', evicted: 13, maxBytes: Math.floor(0.1 * 128 * MiB) }))
      // The most recently used survived.
      expect(cache.has(99) && cache.has(88) && !cache.has(87)).toBe(true)

      fx.setLimit(String(512 * MiB))
      await until(() => cache.stats().maxBytes === Math.floor(0.1 * 512 * MiB), 'the bound to follow the limit up')
      for (let i = 100; i < 200; i++) cache.set(i, 'v')
      expect(cache.size).toBe(51)

      fx.setLimit(name.startsWith('v2') ? 'max' : '9223372036854771712')
      await until(() => cache.stats().maxBytes === Math.floor(0.1 * getHeapStatistics().heap_size_limit), 'the heap limit to stand in')
    })
  }

  it('a createCache share taken before the instance is re-taken of its limit when it attaches', () => {
    const fx = writableFixture('v2-limited-256m', 'sys/fs/cgroup/memory.max')
    const g = createCache<number, string>('early-share', { maxBytes: '50%', sizeOf: ONE_MIB })
    try {
      for (let i = 0; i < 200; i++) g.set(i, 'v')
      const before = g.size
      start(fx).kit.start()
      expect(g.stats().maxBytes).toBe(128 * MiB)
      expect(g.size).toBe(Math.min(before, 128))
    } finally {
      g.close()
    }
  })
})

describe('every sample', () => {
  it('sweeps expired entries without a read, a batch per cache per sample, until none is left', async () => {
    let t = 0
    const { kit } = start(fixture('v2-limited-256m'))
    const cache = kit.cache<number, number>('swept', { max: 10_000, ttlMs: 1000, now: () => t })
    for (let i = 0; i < SWEEP_BATCH + 500; i++) cache.set(i, i)
    t = 2000
    kit.start()
    await until(() => cache.size === 0, 'the sweep to drop every expired entry', 5000)
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, evictions: { expired: SWEEP_BATCH + 500 } })
  })

  it('the memory line lists the caches: their total bytes and each one', async () => {
    const { kit, lines } = start(fixture('v2-limited-256m'))
    const c = kit.cache<string, string>('logged', { maxBytes: MiB })
    c.set('k', 'x'.repeat(1000))
    c.get('k')
    kit.logMemory()
    const line = lines.filter((l) => l.msg === 'memory').pop()
    expect(line).toMatchObject({ cacheBytes: c.stats().bytes, caches: { logged: { entries: 1, bytes: c.stats().bytes, hitRatio: 1 } } })
    c.close()
    kit.logMemory()
    expect(lines.filter((l) => l.msg === 'memory').pop()).not.toHaveProperty('caches')
  })

  it('boundedCacheBytes gives the leak trend the bytes held by the caches, by kit or by its memory view', () => {
    const { kit } = start(fixture('v2-limited-256m'))
    const a = kit.cache<string, string>('a', { maxBytes: MiB, sizeOf: (v) => v.length })
    const b = kit.cache<string, string>('b', { max: 10, sizeOf: (v) => v.length })
    a.set('x', 'y'.repeat(300))
    b.set('x', 'y'.repeat(200))
    expect(boundedCacheBytes(kit)).toEqual({ bytes: 500, boundBytes: null, caches: 2 })
    b.close()
    expect(boundedCacheBytes(kit)).toEqual({ bytes: 300, boundBytes: MiB, caches: 1 })
    expect(boundedCacheBytes({})).toEqual({ bytes: 0, boundBytes: 0, caches: 0 })
  })
})
