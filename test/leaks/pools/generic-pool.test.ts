import genericPool from 'generic-pool'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../../helpers/http.js'
import { requireOrSkip } from '../../helpers/require.js'
import { type App, ROUTES_FILE, fixtureRoutes, serve } from '../app.js'
import { type LeakKit, PG_URL, leakKit, lineOf, reachable, unreachable } from '../helpers.js'

// generic-pool 3 publishes no events: acquire, release and destroy are wrapped on the instance.
// Its resources here are real PostgreSQL clients.

const up = await reachable(PG_URL)
const THRESHOLD = 30_000

/** Every client the pools' factories created. */
const created: pg.Client[] = []

function clientPool(options: genericPool.Options = {}): genericPool.Pool<pg.Client> {
  return genericPool.createPool<pg.Client>(
    {
      async create() {
        const client = new pg.Client({ connectionString: PG_URL })
        await client.connect()
        created.push(client)
        return client
      },
      destroy: (client) => client.end(),
    },
    { max: 3, ...options },
  )
}

describe.runIf(requireOrSkip(up, unreachable('PostgreSQL', PG_URL)))('generic-pool', () => {
  let t: LeakKit
  let debugPort: number
  let pool: genericPool.Pool<pg.Client>
  let app: App

  beforeAll(async () => {
    t = leakKit({ holdThresholdMs: THRESHOLD })
    debugPort = (await t.kit.listen({ port: 0 })).address.port
  })
  afterAll(() => t.kit.stop())
  afterEach(async () => {
    for (const c of created.splice(0)) if (pool.isBorrowedResource(c)) await pool.release(c)
    await app.close()
    await pool.drain()
    await pool.clear()
  })

  const leaks = async (): Promise<Record<string, unknown>> => (await send(debugPort, { path: '/debug/leaks' })).json as Record<string, unknown>

  it('names the route that never releases, counts, shows exhaustion, and logs unleaked on release', async () => {
    pool = clientPool({ max: 2 })
    t.kit.leaks.trackPool(pool, { name: 'workers' })
    app = await serve(fixtureRoutes.genericPoolRoutes(pool))
    await app.get('/fixedRoute')
    for (let i = 1; i <= 2; i++) {
      expect((await app.get('/leakyRoute')).status).toBe(200)
      expect(await t.metric('oomkit_resources_open', { kind: 'generic-pool', pool: 'workers' })).toBe(i)
    }
    const third = app.get('/fixedRoute')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await t.metric('oomkit_pool_waiting', { kind: 'generic-pool', pool: 'workers' })).toBe(1)
    expect(await t.metric('oomkit_pool_idle', { kind: 'generic-pool', pool: 'workers' })).toBe(0)
    t.advance(THRESHOLD + 1)
    const body = await leaks()
    const leases = (body.leases as Record<string, unknown>[]).filter((l) => l.pool === 'workers')
    expect(leases).toHaveLength(2)
    expect(leases[0]).toMatchObject({
      kind: 'generic-pool',
      site: { function: 'leakyGenericRoute', file: ROUTES_FILE, line: lineOf(ROUTES_FILE, 'LEAK-SITE generic-pool') },
    })
    expect((body.pools as Record<string, unknown>[])[0]).toMatchObject({
      name: 'workers',
      kind: 'generic-pool',
      size: 2,
      waiting: 1,
      max: 2,
      open: 2,
      leaks: 2,
    })
    // Releasing a leaked one lets the waiting request through (pool.use releases its own).
    const leaked = created.filter((c) => pool.isBorrowedResource(c))
    await pool.release(leaked[0] as pg.Client)
    expect((await third).status).toBe(200)
    expect(t.linesWith('previously reported connection released (unleaked)').filter((l) => l.pool === 'workers')).toHaveLength(1)
    expect(await t.metric('oomkit_resources_open', { kind: 'generic-pool', pool: 'workers' })).toBe(1)
  })

  it('counts an acquire that times out (acquireTimeoutMillis), and a destroy ends the lease', async () => {
    pool = clientPool({ max: 1, acquireTimeoutMillis: 200 })
    t.kit.leaks.trackPool(pool, { name: 'tiny' })
    app = await serve({})
    const held = await pool.acquire()
    await expect(pool.acquire()).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(await t.metric('oomkit_pool_acquire_timeouts_total', { kind: 'generic-pool', pool: 'tiny' })).toBe(1)
    expect(await t.metric('oomkit_pool_acquire_wait_seconds_count', { kind: 'generic-pool', pool: 'tiny' })).toBe(2)
    await pool.destroy(held)
    expect(await t.metric('oomkit_resources_open', { kind: 'generic-pool', pool: 'tiny' })).toBe(0)
    // A resource this pool never lent: generic-pool rejects it, the tracker does not throw.
    await expect(pool.release(new pg.Client())).rejects.toThrow(/not currently part of this pool/)
  })
})
