import { afterEach, describe, expect, it } from 'vitest'
import { DEBUG_HEADERS, send } from '../helpers/http.js'
import { fixtureRoutes } from './app.js'
import { type LeakKit, leakKit } from './helpers.js'

// GET /debug/leaks follows the rules of every debug route, and says what the tracker knows.

const kits: LeakKit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((t) => t.kit.stop()))
})

async function started(): Promise<{ t: LeakKit; port: number }> {
  const t = leakKit({ holdThresholdMs: 2000 })
  kits.push(t)
  return { t, port: (await t.kit.listen({ port: 0, token: 'secret' })).address.port }
}

describe('GET /debug/leaks', () => {
  it('lists the leases past their threshold, oldest first, up to ?limit, and the per-pool counts', async () => {
    const { t, port } = await started()
    const auth = { authorization: 'Bearer secret' }
    const first = fixtureRoutes.takeResource(t.kit, {}, { pool: 'a' })
    t.advance(1000)
    fixtureRoutes.takeResource(t.kit, {}, { pool: 'b' })
    fixtureRoutes.takeResource(t.kit, {}, { pool: 'b' })
    t.advance(1500)
    const r = await send(port, { path: '/debug/leaks?limit=2', headers: auth })
    expect(r.status).toBe(200)
    expect(r.headers).toMatchObject(DEBUG_HEADERS)
    expect(r.json).toMatchObject({ running: true, holdThresholdMs: 2000, open: 3, tracked: 3, leaked: 1 })
    expect(r.json?.leases).toEqual([expect.objectContaining({ pool: 'a', ageMs: 2500, site: expect.objectContaining({ function: 'takeResource' }) })])
    t.advance(1000)
    const all = await send(port, { path: '/debug/leaks?limit=2', headers: auth })
    expect(all.json?.leaked).toBe(3)
    expect((all.json?.leases as { pool: string }[]).map((l) => l.pool)).toEqual(['a', 'b'])
    expect(all.json?.resources).toEqual(
      expect.arrayContaining([
        { kind: 'widget', pool: 'a', open: 1, acquired: 1, released: 0, leaks: 1, oldestAgeMs: 3500 },
        { kind: 'widget', pool: 'b', open: 2, acquired: 2, released: 0, leaks: 2, oldestAgeMs: 2500 },
      ]),
    )
    // The route ran the check: the log has every lease it showed, once.
    expect(t.linesWith('connection held past threshold')).toHaveLength(3)
    expect(t.audits().at(-1)).toMatchObject({ route: '/debug/leaks', status: 200, leaked: 3 })
    first.release()
    expect((await send(port, { path: '/debug/leaks', headers: auth })).json?.leaked).toBe(2)
    expect(t.kit.report().leaks).toMatchObject({ leaked: 2, open: 2 })
  })

  it('needs the token, takes only GET and HEAD, and answers 400 for a bad limit', async () => {
    const { port } = await started()
    expect((await send(port, { path: '/debug/leaks' })).status).toBe(401)
    const auth = { authorization: 'Bearer secret' }
    const post = await send(port, { path: '/debug/leaks', method: 'POST', headers: auth })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    const head = await send(port, { path: '/debug/leaks', method: 'HEAD', headers: auth })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    for (const bad of ['-1', '10001', 'x', '1&limit=2']) {
      const r = await send(port, { path: `/debug/leaks?limit=${bad}`, headers: auth })
      expect(r.status, bad).toBe(400)
      expect(r.json).toMatchObject({ error: 'OOMKIT_BAD_REQUEST', parameter: 'limit' })
    }
  })
})
