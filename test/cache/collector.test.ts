import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { EVICTION_REASONS } from '../../src/cache/index.js'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { requireOrSkip } from '../helpers/require.js'

const PROMTOOL = '/usr/bin/promtool'
const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function started(): { kit: Oomkit; registry: Registry } {
  const registry = new Registry()
  // prom-client's own default metrics break promtool's lint (`nodejs_active_handles_total` is a gauge): not ours to check.
  const kit = createOomkit({ logger: pino({ level: 'silent' }), registry, logIntervalMs: 0, heapProfile: false, defaultMetrics: false })
  kits.push(kit)
  return { kit: kit.start(), registry }
}

/** The value of one series in a scrape, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('oomkit_cache_* series', () => {
  it('are read at scrape time from the caches, labelled cache (and reason), with bounds only where set', async () => {
    const { kit, registry } = started()
    const users = kit.cache<string, string>('users', { max: 2, ttlMs: 60_000 })
    const blobs = kit.cache<string, Buffer>('blobs', { maxBytes: 4096 })
    users.set('a', 'A').set('b', 'B').set('c', 'C').set('c', 'C2')
    users.get('c')
    users.get('a')
    users.delete('b')
    blobs.set('x', Buffer.alloc(1000))
    const text = await registry.metrics()
    expect(value(text, 'oomkit_cache_hits_total{cache="users"}')).toBe(1)
    expect(value(text, 'oomkit_cache_misses_total{cache="users"}')).toBe(1)
    const ev = Object.fromEntries(EVICTION_REASONS.map((r) => [r, value(text, `oomkit_cache_evictions_total{cache="users",reason="${r}"}`)]))
    expect(ev).toEqual({ capacity: 1, expired: 0, replaced: 1, deleted: 1 })
    expect(value(text, 'oomkit_cache_entries{cache="users"}')).toBe(1)
    expect(value(text, 'oomkit_cache_max_entries{cache="users"}')).toBe(2)
    expect(value(text, 'oomkit_cache_max_bytes{cache="users"}')).toBeUndefined()
    expect(value(text, 'oomkit_cache_size_bytes{cache="blobs"}')).toBe(blobs.stats().bytes)
    expect(value(text, 'oomkit_cache_max_bytes{cache="blobs"}')).toBe(4096)
    expect(value(text, 'oomkit_cache_max_entries{cache="blobs"}')).toBeUndefined()
    // Counters move without any prom-client call in between: the next scrape reads them again.
    for (let i = 0; i < 10; i++) users.get('c')
    expect(value(await registry.metrics(), 'oomkit_cache_hits_total{cache="users"}')).toBe(11)
  })

  it('the report lists every cache with its stats and its share of the heap', () => {
    const { kit } = started()
    const big = kit.cache<number, string>('big', { maxBytes: 8 << 20 })
    for (let i = 0; i < 1000; i++) big.set(i, 'x'.repeat(1000))
    kit.cache('empty', { max: 5 })
    const section = kit.report().caches!
    expect(section.count).toBe(2)
    expect(section.caches.map((c) => c.name)).toEqual(['big', 'empty'])
    expect(section.caches[0]).toMatchObject({ scope: 'kit', entries: 1000, bytesSampled: false, maxBytes: 8 << 20, hitRatio: null, evictions: { capacity: 0 } })
    expect(section.bytes).toBe(big.stats().bytes + 0)
    expect(section.heapShare).toBeGreaterThan(0.01)
    expect(section.heapShare).toBeLessThan(1)
    expect(section.caches[0]!.heapShare).toBe(section.heapShare)
  })

  it('caches: false has no cache series and a null section', async () => {
    const registry = new Registry()
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry, logIntervalMs: 0, caches: false })
    kits.push(kit.start())
    kit.cache('quiet', { max: 1 }).set('a', 1)
    expect(await registry.metrics()).not.toMatch(/oomkit_cache_/)
    expect(kit.report().caches).toBeNull()
  })

  it.runIf(requireOrSkip(existsSync(PROMTOOL), `${PROMTOOL} is missing (bash scripts/install-test-deps.sh)`))(
    'promtool accepts the scrape with caches (names needing escapes included)',
    async () => {
      const { kit, registry } = started()
      const c = kit.cache<string, number>('with "quotes" and \\ slash', { max: 10, maxBytes: '1%' })
      c.set('a', 1)
      c.get('a')
      kit.memoize((n: number) => n, { name: 'memo' })(1)
      const text = await registry.metrics()
      expect(text).toContain('oomkit_cache_hits_total{cache="with \\"quotes\\" and \\\\ slash"} 1')
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 })
      expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: '' })
    },
  )
})
