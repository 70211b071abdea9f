import dc from 'node:diagnostics_channel'
import pg from 'pg'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { OomkitError, createOomkit } from '../../src/index.js'
import { type LeakReport, SOCKET_CHANNELS } from '../../src/leaks/index.js'
import { captureLogger } from '../helpers/http.js'
import { ROUTES_FILE, fixtureRoutes } from './app.js'
import { type LeakKit, PG_URL, gcUntil, leakKit, lineOf } from './helpers.js'

// The generic tracker: kit.leaks.acquire(kind, resource, { pool, meta }) and lease.release().

const kits: LeakKit[] = []
function tracked(...args: Parameters<typeof leakKit>): LeakKit {
  const t = leakKit(...args)
  kits.push(t)
  return t
}
afterEach(async () => {
  await Promise.all(kits.splice(0).map((t) => t.kit.stop()))
})

describe('leases', () => {
  it('reports a lease once past its threshold, with kind, pool, age, meta and the acquiring function', () => {
    const t = tracked({ holdThresholdMs: 5000 })
    const events: LeakReport[] = []
    t.kit.on('resourceLeak', (r) => events.push(r))
    const lease = fixtureRoutes.takeResource(t.kit, { id: 1 }, { pool: 'widgets', meta: { tenant: 'a' } })
    t.advance(4999)
    expect(t.kit.leaks.check()).toEqual([])
    t.advance(1)
    const [report] = t.kit.leaks.check()
    expect(report).toMatchObject({
      reason: 'held',
      kind: 'widget',
      pool: 'widgets',
      ageMs: 5000,
      holdThresholdMs: 5000,
      meta: { tenant: 'a' },
      site: { function: 'takeResource', file: ROUTES_FILE, line: lineOf(ROUTES_FILE, 'LEAK-SITE widget') },
    })
    expect(events).toEqual([report])
    t.advance(60_000)
    expect(t.kit.leaks.check()).toEqual([])
    expect(t.linesWith('connection held past threshold')).toEqual([
      expect.objectContaining({ level: 40, kind: 'widget', pool: 'widgets', ageMs: 5000, meta: { tenant: 'a' } }),
    ])
    lease.release()
    expect(t.linesWith('previously reported connection released (unleaked)')).toEqual([expect.objectContaining({ level: 30, kind: 'widget', heldMs: 65_000 })])
  })

  it('a second release is a no-op, counted, and warned about once', async () => {
    const t = tracked()
    const a = t.kit.leaks.acquire('file', {})
    a.release()
    a.release()
    a.release()
    const b = t.kit.leaks.acquire('file', {})
    b.release()
    b.release()
    expect(t.kit.leaks.report().doubleReleases).toBe(3)
    expect(t.lines.filter((l) => l.msg.startsWith('a lease was released twice'))).toHaveLength(1)
    expect(await t.metric('oomkit_resources_released_total', { kind: 'file', pool: 'default' })).toBe(2)
    expect(await t.metric('oomkit_resources_open', { kind: 'file', pool: 'default' })).toBe(0)
  })

  it('bounds the tracked set: past maxTracked leases are counted, not tracked, and it warns once', async () => {
    const t = tracked({ maxTracked: 100, holdThresholdMs: 2000 })
    const leases = Array.from({ length: 250 }, () => t.kit.leaks.acquire('conn', {}, { pool: 'p' }))
    const r = t.kit.leaks.report()
    expect(r).toMatchObject({ tracked: 100, overflow: 150, open: 250, maxTracked: 100 })
    expect(t.lines.filter((l) => l.msg.includes('maxTracked'))).toHaveLength(1)
    t.advance(2000)
    expect(t.kit.leaks.check()).toHaveLength(100)
    for (const l of leases) l.release()
    expect(t.kit.leaks.report()).toMatchObject({ tracked: 0, open: 0 })
    expect(await t.metric('oomkit_resources_released_total', { kind: 'conn', pool: 'p' })).toBe(250)
  })

  it('without stacks, still reports kind, pool and age', () => {
    const t = tracked({ captureStacks: false, holdThresholdMs: 2000 })
    t.kit.leaks.acquire('conn', {})
    t.advance(2500)
    expect(t.kit.leaks.check()).toEqual([expect.objectContaining({ kind: 'conn', pool: 'default', ageMs: 2500, site: null, stack: [] })])
  })

  it('takes a per-lease threshold and observes hold times in the histogram', async () => {
    const t = tracked({ holdThresholdMs: 60_000 })
    t.kit.leaks.acquire('conn', {}, { holdThresholdMs: 3000 })
    const quick = t.kit.leaks.acquire('conn', {})
    t.advance(2)
    quick.release()
    t.advance(3000)
    expect(t.kit.leaks.check()).toHaveLength(1)
    const text = await t.registry.metrics()
    expect(text).toContain('oomkit_resource_hold_seconds_bucket{kind="conn",pool="default",le="0.001"} 0')
    expect(text).toContain('oomkit_resource_hold_seconds_bucket{kind="conn",pool="default",le="0.005"} 1')
    expect(text).toContain('oomkit_resource_hold_seconds_count{kind="conn",pool="default"} 1')
    expect(text).toContain('oomkit_resource_leaks_total{kind="conn",pool="default"} 1')
  })

  it('reports a resource garbage-collected while still leased (a dropped, never-released pg client)', async () => {
    const t = tracked({ holdThresholdMs: 60_000 })
    const events: LeakReport[] = []
    t.kit.on('resourceLeak', (r) => events.push(r))
    ;(function dropClient() {
      const client = new pg.Client({ connectionString: PG_URL })
      t.kit.leaks.acquire('pg-client', client, { pool: 'dropped' })
    })()
    await gcUntil(() => events.length > 0, 'the FinalizationRegistry callback')
    expect(events[0]).toMatchObject({ reason: 'collected', kind: 'pg-client', pool: 'dropped', site: { function: 'dropClient' } })
    expect(t.linesWith('connection garbage-collected while still held: it was never released')).toEqual([
      expect.objectContaining({ level: 40, kind: 'pg-client', pool: 'dropped' }),
    ])
    const r = t.kit.leaks.report()
    expect(r.collected).toEqual([expect.objectContaining({ reason: 'collected', pool: 'dropped' })])
    expect(r).toMatchObject({ open: 0, tracked: 0 })
    expect(await t.metric('oomkit_resource_leaks_total', { kind: 'pg-client', pool: 'dropped' })).toBe(1)
  })

  it('stays bounded under churn: a million acquire/release pairs leave nothing behind', async () => {
    const t = tracked({ captureStacks: false })
    const leaks = t.kit.leaks
    const resource = {}
    const churn = (n: number, fresh: boolean): void => {
      for (let i = 0; i < n; i++) leaks.acquire('churn', fresh ? {} : resource).release()
    }
    churn(10_000, true)
    globalThis.gc?.()
    const before = process.memoryUsage().heapUsed
    churn(500_000, false)
    churn(500_000, true)
    globalThis.gc?.()
    const grown = process.memoryUsage().heapUsed - before
    expect(grown).toBeLessThan(4 * 1024 * 1024)
    expect(leaks.report()).toMatchObject({ tracked: 0, open: 0, doubleReleases: 0 })
    expect(await t.metric('oomkit_resources_acquired_total', { kind: 'churn', pool: 'default' })).toBe(1_010_000)
  })

  it('with stacks on, churn stays bounded too', () => {
    const t = tracked()
    globalThis.gc?.()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 50_000; i++) t.kit.leaks.acquire('churn', {}).release()
    globalThis.gc?.()
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024)
  })
})

describe('options', () => {
  const make = (leaks: unknown): unknown => createOomkit({ logger: captureLogger().logger, registry: new Registry(), leaks: leaks as never })

  it('refuses thresholds under 2 s unless a test clock is injected', () => {
    expect(() => make({ holdThresholdMs: 500 })).toThrow(/leaks.holdThresholdMs: expected an integer from 2000 to 86400000 .*test clock.*got 500/)
    expect(() => make({ holdThresholdMs: 500, clock: () => 0 })).not.toThrow()
    expect(() => make({ maxTracked: 0 })).toThrow(OomkitError)
    expect(() => make({ clock: 5 })).toThrow(/leaks.clock/)
    expect(() => make({ threshold: 5 })).toThrow(/Unknown option leaks.threshold/)
    const t = tracked()
    expect(() => t.kit.leaks.acquire('', {})).toThrow(/kind/)
    expect(() => t.kit.leaks.acquire('x', {}, { pool: 7 } as never)).toThrow(/options.pool/)
    const real = createOomkit({ logger: captureLogger().logger, registry: new Registry() })
    expect(() => real.leaks.acquire('x', {}, { holdThresholdMs: 100 })).toThrow(/holdThresholdMs/)
  })

  it('with leaks: false, kit.leaks tracks nothing, there is no route, and the section is null', async () => {
    const kit = createOomkit({ logger: captureLogger().logger, registry: new Registry(), leaks: false, logIntervalMs: 0, heapProfile: false }).start()
    try {
      expect(kit.leaks.enabled).toBe(false)
      const lease = kit.leaks.acquire('conn', {})
      lease.release()
      lease.release()
      expect(kit.report().leaks).toBeNull()
      expect(await kit.registry.metrics()).not.toContain('oomkit_resources_open')
      const pool = new pg.Pool()
      expect(kit.leaks.trackPool(pool)).toMatchObject({ name: 'pg', kind: 'pg' })
      expect(Object.hasOwn(pool, 'connect')).toBe(false)
      expect(() => kit.leaks.trackPool({})).toThrow(/unsupported pool/)
    } finally {
      await kit.stop()
    }
  })

  it('stop() untracks, unsubscribes and forgets: later releases only count, nothing is reported', async () => {
    const t = leakKit({ holdThresholdMs: 2000, sockets: true })
    const channels = Object.values(SOCKET_CHANNELS)
    expect(channels.filter((c) => dc.hasSubscribers(c))).toEqual(channels)
    const lease = t.kit.leaks.acquire('conn', {})
    await t.kit.stop()
    expect(channels.filter((c) => dc.hasSubscribers(c))).toEqual([])
    t.advance(10_000)
    expect(t.kit.leaks.check()).toEqual([])
    expect(() => lease.release()).not.toThrow()
    expect(t.kit.leaks.report()).toMatchObject({ running: false, tracked: 0 })
  })
})
