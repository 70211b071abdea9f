import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../../helpers/http.js'
import { requireOrSkip } from '../../helpers/require.js'
import { type App, ROUTES_FILE, fixtureRoutes, serve } from '../app.js'
import { type LeakKit, PG_URL, leakKit, lineOf, reachable, unreachable } from '../helpers.js'

// The seed's bug against a real PostgreSQL: an Express route that returns early without
// client.release(). The tracker must name that route's function, file and line, count every
// leaked client, and log HikariCP's two lines; the fixed routes must produce no report.

const up = await reachable(PG_URL)
const THRESHOLD = 30_000

describe.runIf(requireOrSkip(up, unreachable('PostgreSQL', PG_URL)))('pg.Pool against PostgreSQL', () => {
  let t: LeakKit
  let pool: pg.Pool
  let app: App
  let debugPort: number
  const checkedOut: pg.PoolClient[] = []

  beforeAll(async () => {
    t = leakKit({ holdThresholdMs: THRESHOLD })
    debugPort = (await t.kit.listen({ port: 0 })).address.port
  })
  afterAll(() => t.kit.stop())

  async function setup(name: string, options: pg.PoolConfig = {}): Promise<void> {
    pool = new pg.Pool({ connectionString: PG_URL, max: 5, ...options })
    pool.on('acquire', (client) => checkedOut.push(client))
    t.kit.leaks.trackPool(pool, { name })
    app = await serve(fixtureRoutes.pgRoutes(pool))
  }

  afterEach(async () => {
    for (const client of checkedOut.splice(0)) {
      try {
        client.release()
      } catch {
        // released already
      }
    }
    await app.close()
    await pool.end()
  })

  const leaks = async (): Promise<Record<string, unknown>> => (await send(debugPort, { path: '/debug/leaks' })).json as Record<string, unknown>

  it('names the leaking route after the threshold, counts each leaked client, logs the warn and the unleaked info', async () => {
    await setup('pg')
    for (let i = 1; i <= 3; i++) {
      expect((await app.get('/leakyRoute')).status).toBe(200)
      expect(await t.metric('oomkit_resources_open', { kind: 'pg', pool: 'pg' })).toBe(i)
    }
    // Before the threshold: counted, not reported.
    let body = await leaks()
    expect(body.leaked).toBe(0)
    expect(t.linesWith('connection held past threshold')).toHaveLength(0)

    t.advance(THRESHOLD + 1000)
    body = await leaks()
    expect(body.leaked).toBe(3)
    const leases = body.leases as Record<string, unknown>[]
    expect(leases).toHaveLength(3)
    for (const lease of leases) {
      expect(lease).toMatchObject({ reason: 'held', kind: 'pg', pool: 'pg', holdThresholdMs: THRESHOLD })
      expect(lease.ageMs).toBeGreaterThanOrEqual(THRESHOLD)
      expect(lease.site).toEqual({ function: 'leakyRoute', file: ROUTES_FILE, line: lineOf(ROUTES_FILE, 'LEAK-SITE pg'), column: expect.any(Number) })
      expect((lease.stack as string[])[0]).toMatch(/^async leakyRoute \(.*routes\.cjs:\d+:\d+\)$|^leakyRoute \(.*routes\.cjs:\d+:\d+\)$/)
    }
    expect(body.pools).toEqual([expect.objectContaining({ name: 'pg', kind: 'pg', open: 3, size: 3, idle: 0, waiting: 0, max: 5, leaks: 3 })])
    expect(await t.metric('oomkit_resource_leaks_total', { kind: 'pg', pool: 'pg' })).toBe(3)

    // Reported once: another check says nothing new.
    await leaks()
    const warns = t.linesWith('connection held past threshold')
    expect(warns).toHaveLength(3)
    expect(warns[0]).toMatchObject({ level: 40, kind: 'pg', pool: 'pg', site: expect.stringContaining(`routes.cjs:${lineOf(ROUTES_FILE, 'LEAK-SITE pg')}:`) })

    // Finally released: HikariCP's second line, and the gauge goes back down.
    checkedOut.splice(0).forEach((c) => c.release())
    const unleaked = t.linesWith('previously reported connection released (unleaked)')
    expect(unleaked).toHaveLength(3)
    expect(unleaked[0]).toMatchObject({ level: 30, kind: 'pg', pool: 'pg', site: expect.stringContaining('leakyRoute') })
    expect(await t.metric('oomkit_resources_open', { kind: 'pg', pool: 'pg' })).toBe(0)
    expect((await leaks()).leaked).toBe(0)
  })

  it('reports nothing for the fixed routes: release in finally, or pool.query', async () => {
    await setup('pg-fixed')
    const before = t.linesWith('connection held past threshold').length
    for (let i = 0; i < 5; i++) {
      expect((await app.get('/fixedRoute')).status).toBe(200)
      expect((await app.get('/queryRoute')).status).toBe(200)
    }
    t.advance(THRESHOLD * 2)
    const body = await leaks()
    expect(body.leaked).toBe(0)
    expect(t.linesWith('connection held past threshold')).toHaveLength(before)
    expect(await t.metric('oomkit_resources_open', { kind: 'pg', pool: 'pg-fixed' })).toBe(0)
    expect(await t.metric('oomkit_resources_acquired_total', { kind: 'pg', pool: 'pg-fixed' })).toBe(10)
    expect(await t.metric('oomkit_resources_released_total', { kind: 'pg', pool: 'pg-fixed' })).toBe(10)
    expect(await t.metric('oomkit_resource_hold_seconds_count', { kind: 'pg', pool: 'pg-fixed' })).toBe(10)
  })

  it('shows an exhausted pool: waiting > 0 while requests queue, and counts acquires that time out', async () => {
    await setup('pg-small', { max: 2, connectionTimeoutMillis: 300 })
    await app.get('/leakyRoute')
    await app.get('/leakyRoute')
    // The third request waits for a client that never comes back.
    const third = app.get('/fixedRoute')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await t.metric('oomkit_pool_waiting', { kind: 'pg', pool: 'pg-small' })).toBe(1)
    expect(await t.metric('oomkit_pool_size', { kind: 'pg', pool: 'pg-small' })).toBe(2)
    expect(await t.metric('oomkit_pool_idle', { kind: 'pg', pool: 'pg-small' })).toBe(0)
    expect(await t.metric('oomkit_pool_max', { kind: 'pg', pool: 'pg-small' })).toBe(2)
    const pools = (await leaks()).pools as Record<string, unknown>[]
    expect(pools.find((p) => p.name === 'pg-small')).toMatchObject({ waiting: 1, open: 2 })
    // connectionTimeoutMillis runs out: pg rejects it, and the timeout is counted.
    expect((await third).status).toBe(500)
    expect(await t.metric('oomkit_pool_acquire_timeouts_total', { kind: 'pg', pool: 'pg-small' })).toBe(1)
    expect(await t.metric('oomkit_pool_acquire_wait_seconds_count', { kind: 'pg', pool: 'pg-small' })).toBe(3)
  })

  it('ignores clients checked out before tracking began, and restores the pool when untracked', async () => {
    pool = new pg.Pool({ connectionString: PG_URL, max: 2 })
    app = await serve({})
    const early = await pool.connect()
    const tracked = t.kit.leaks.trackPool(pool, { name: 'pg-late' })
    expect(Object.hasOwn(pool, 'connect')).toBe(true)
    expect(() => early.release()).not.toThrow()
    const client = await pool.connect()
    expect(await t.metric('oomkit_resources_open', { kind: 'pg', pool: 'pg-late' })).toBe(1)
    client.release()
    expect(await t.metric('oomkit_resources_open', { kind: 'pg', pool: 'pg-late' })).toBe(0)
    expect(await t.metric('oomkit_resources_released_total', { kind: 'pg', pool: 'pg-late' })).toBe(1)
    // Tracking it twice is refused; untracking puts the prototype's connect back.
    expect(() => t.kit.leaks.trackPool(pool, { name: 'again' })).toThrow(/tracked already, as "pg-late"/)
    tracked.untrack()
    expect(Object.hasOwn(pool, 'connect')).toBe(false)
    expect(pool.listenerCount('release')).toBe(0)
    const after = await pool.connect()
    after.release()
    expect(await t.metric('oomkit_pool_size', { kind: 'pg', pool: 'pg-late' })).toBeUndefined()
  })
})
