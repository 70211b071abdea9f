import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../../helpers/http.js'
import { requireOrSkip } from '../../helpers/require.js'
import { type App, ROUTES_FILE, fixtureRoutes, serve } from '../app.js'
import { type LeakKit, MYSQL_URL, leakKit, lineOf, reachable, unreachable } from '../helpers.js'
import { MYSQL2_POOL_CONNECT } from '../../../src/leaks/index.js'

// The same bug against a real MariaDB with mysql2, callback and promise APIs. The installed mysql2
// publishes the `mysql2:pool:connect` tracing channel: the checkout is seen there, not by wrapping.

const up = await reachable(MYSQL_URL)
const THRESHOLD = 30_000

describe.runIf(requireOrSkip(up, unreachable('MariaDB', MYSQL_URL)))('mysql2 pools against MariaDB', () => {
  let t: LeakKit
  let debugPort: number
  let app: App | null = null
  const ends: (() => Promise<unknown>)[] = []
  const connections: { release(): void }[] = []

  beforeAll(async () => {
    t = leakKit({ holdThresholdMs: THRESHOLD })
    debugPort = (await t.kit.listen({ port: 0 })).address.port
  })
  afterAll(() => t.kit.stop())
  afterEach(async () => {
    for (const c of connections.splice(0)) c.release()
    await app?.close()
    app = null
    for (const end of ends.splice(0)) await end()
  })

  const leaks = async (): Promise<Record<string, unknown>> => (await send(debugPort, { path: '/debug/leaks' })).json as Record<string, unknown>
  const leasesOf = async (pool: string): Promise<Record<string, unknown>[]> =>
    ((await leaks()).leases as Record<string, unknown>[]).filter((l) => l.pool === pool)

  it('callback API: names the route after the threshold, counts, and logs the unleaked line on release', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4 })
    ends.push(() => new Promise((resolve) => pool.end(resolve)))
    pool.on('acquire', (conn) => connections.push(conn))
    const tracked = t.kit.leaks.trackPool(pool, { name: 'mysql' })
    expect(tracked.kind).toBe('mysql2')
    expect(Object.hasOwn(pool, 'getConnection')).toBe(false) // seen through the channel
    app = await serve(fixtureRoutes.mysqlCallbackRoutes(pool))
    for (let i = 1; i <= 2; i++) {
      expect((await app.get('/leakyRoute')).status).toBe(200)
      expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql' })).toBe(i)
    }
    for (let i = 0; i < 3; i++) expect((await app.get('/fixedRoute')).status).toBe(200)
    t.advance(THRESHOLD + 1)
    const leases = await leasesOf('mysql')
    expect(leases).toHaveLength(2)
    expect(leases[0]).toMatchObject({
      kind: 'mysql2',
      site: { function: 'leakyCallbackRoute', file: ROUTES_FILE, line: lineOf(ROUTES_FILE, 'LEAK-SITE mysql-callback') },
    })
    const pools = (await leaks()).pools as Record<string, unknown>[]
    expect(pools.find((p) => p.name === 'mysql')).toMatchObject({
      open: 2,
      acquired: 5,
      released: 3,
      size: 3,
      idle: 1,
      waiting: 0,
      max: 4,
      via: expect.stringContaining(MYSQL2_POOL_CONNECT),
    })
    expect(t.linesWith('connection held past threshold').filter((l) => l.pool === 'mysql')).toHaveLength(2)
    for (const c of connections.splice(0)) c.release()
    expect(t.linesWith('previously reported connection released (unleaked)').filter((l) => l.pool === 'mysql')).toHaveLength(2)
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql' })).toBe(0)
  })

  it('promise API: the same, and an exhausted pool shows its waiting callers', async () => {
    const pool = mysqlPromise.createPool({ uri: MYSQL_URL, connectionLimit: 2 })
    ends.push(() => pool.end())
    pool.pool.on('acquire', (conn) => connections.push(conn))
    t.kit.leaks.trackPool(pool, { name: 'mysql-promise' })
    app = await serve(fixtureRoutes.mysqlPromiseRoutes(pool))
    await app.get('/leakyRoute')
    await app.get('/leakyRoute')
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql-promise' })).toBe(2)
    const waiting = app.get('/fixedRoute')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await t.metric('oomkit_pool_waiting', { kind: 'mysql2', pool: 'mysql-promise' })).toBe(1)
    t.advance(THRESHOLD + 1)
    const leases = await leasesOf('mysql-promise')
    expect(leases).toHaveLength(2)
    expect(leases[0]).toMatchObject({ site: { function: 'leakyPromiseRoute', file: ROUTES_FILE, line: lineOf(ROUTES_FILE, 'LEAK-SITE mysql-promise') } })
    // Releasing one hands it to the waiting request, whose route releases it in finally.
    connections.shift()?.release()
    expect((await waiting).status).toBe(200)
    expect(await t.metric('oomkit_pool_waiting', { kind: 'mysql2', pool: 'mysql-promise' })).toBe(0)
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql-promise' })).toBe(1)
    expect(await t.metric('oomkit_resources_released_total', { kind: 'mysql2', pool: 'mysql-promise' })).toBe(2)
  })

  it('a destroyed connection ends its lease; releases of untracked connections are ignored; untrack restores', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 })
    ends.push(() => new Promise((resolve) => pool.end(resolve)))
    const early = await pool.promise().getConnection()
    const tracked = t.kit.leaks.trackPool(pool.promise(), { name: 'mysql-misc' })
    expect(() => early.release()).not.toThrow()
    const conn = await pool.promise().getConnection()
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql-misc' })).toBe(1)
    conn.destroy()
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql-misc' })).toBe(0)
    tracked.untrack()
    expect(Object.hasOwn(pool, 'releaseConnection')).toBe(false)
    const after = await pool.promise().getConnection()
    after.release()
    // Its counters stay (counters never go back), but nothing more is counted, and its pool gauges are gone.
    expect(await t.metric('oomkit_resources_acquired_total', { kind: 'mysql2', pool: 'mysql-misc' })).toBe(1)
    expect(await t.metric('oomkit_pool_size', { kind: 'mysql2', pool: 'mysql-misc' })).toBeUndefined()
  })

  it('without the channel (a mysql2 that does not publish it), wraps getConnection on the instance instead', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 })
    ends.push(() => new Promise((resolve) => pool.end(resolve)))
    const base = pool.getConnection
    const legacy = function legacyGetConnection(this: typeof pool, cb: Parameters<typeof pool.getConnection>[0]): void {
      base.call(this, cb)
    }
    pool.getConnection = legacy
    const tracked = t.kit.leaks.trackPool(pool, { name: 'mysql-legacy' })
    expect(t.kit.leaks.report().pools.find((p) => p.name === 'mysql-legacy')?.via).toBe('getConnection and releaseConnection wrapped on the instance')
    const conn = await new Promise<mysql.PoolConnection>((resolve, reject) => pool.getConnection((err, c) => (err ? reject(err) : resolve(c))))
    t.advance(THRESHOLD)
    expect((await leasesOf('mysql-legacy'))[0]).toMatchObject({ kind: 'mysql2', site: expect.objectContaining({ file: import.meta.filename }) })
    conn.release()
    // Counted once: the channel (still published underneath) is not listened to for this pool.
    expect(await t.metric('oomkit_resources_acquired_total', { kind: 'mysql2', pool: 'mysql-legacy' })).toBe(1)
    expect(await t.metric('oomkit_resources_open', { kind: 'mysql2', pool: 'mysql-legacy' })).toBe(0)
    tracked.untrack()
    expect(pool.getConnection).toBe(legacy)
  })
})
