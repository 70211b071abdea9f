// `node --import oomkit/register app.mjs` with the standard PYROSCOPE_* variables: profiles reach
// the ingest server with the pod's tags, and a bad variable fails start naming it. The app knows
// nothing of oomkit or Pyroscope. dist/ must be built (npm test builds it first).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Child } from './child.js'
import { frames } from './helpers.js'
import { IngestServer } from './ingest-server.js'

const ROOT = join(import.meta.dirname, '..', '..')
const APP = join(ROOT, 'test', 'fixtures', 'http-app.mjs')
let ingest: IngestServer
const children: Child[] = []

beforeAll(async () => {
  ingest = await IngestServer.start()
})
afterAll(async () => {
  for (const c of children) await c.finish()
  await ingest.close()
})

function registered(env: Record<string, string>): Child {
  const child = new Child(['--import', 'oomkit/register', APP], { OOMKIT_PORT: '0', ...env }, ROOT)
  children.push(child)
  return child
}

describe('oomkit/register with PYROSCOPE_* variables', () => {
  it("sends heap and wall profiles under PYROSCOPE_APPLICATION_NAME with the pod's tags", async () => {
    const child = registered({
      PYROSCOPE_SERVER_ADDRESS: ingest.url,
      PYROSCOPE_APPLICATION_NAME: 'registered-app',
      PYROSCOPE_FLUSH_INTERVAL_MS: '1000',
      PYROSCOPE_AUTH_TOKEN: 'tok-register',
      HOSTNAME: 'registered-7d9f-x2',
      POD_NAMESPACE: 'shop',
      POD_NAME: 'registered-7d9f-x2',
    })
    await child.waitFor((l) => l.app === 'listening', 'the app listening')
    const on = await child.waitFor((l) => l.msg === 'Pyroscope continuous profiling on', 'Pyroscope on')
    expect(on).toMatchObject({ appName: 'registered-app', profiles: ['heap', 'wall'], flushIntervalMs: 1000, heapShared: true })
    const heap = await ingest.next((u) => u.kind === 'heap' && u.appName === 'registered-app')
    const wall = await ingest.next((u) => u.kind === 'wall' && u.appName === 'registered-app')
    for (const u of [heap, wall]) {
      expect(u.tags).toMatchObject({ hostname: 'registered-7d9f-x2', namespace: 'shop', pod: 'registered-7d9f-x2', service_name: 'registered-app' })
      expect(u.headers.authorization).toBe('Bearer tok-register')
    }
    expect(frames(heap.profile!).length).toBeGreaterThan(0)
    // The token is nowhere in the log.
    expect(JSON.stringify(child.lines)).not.toContain('tok-register')
  })

  it('never keeps the process alive: an app that is done exits with Pyroscope running', async () => {
    const child = new Child([join(ROOT, 'test', 'pyroscope', 'fixtures', 'exits.mjs')], { INGEST: ingest.url }, ROOT)
    children.push(child)
    expect(await child.exited).toBe(0)
    expect(child.lines.find((l) => l.type === 'done')).toMatchObject({ uploads: { heap: { ok: 1 }, wall: { ok: 1 } } })
  })

  it.each([
    [{ PYROSCOPE_FLUSH_INTERVAL_MS: 'abc' }, 'PYROSCOPE_FLUSH_INTERVAL_MS=abc: expected an integer number of ms from 1000 to 3600000'],
    [{ PYROSCOPE_APPLICATION_NAME: '' }, 'PYROSCOPE_APPLICATION_NAME: expected the application name'],
    [{ OOMKIT_PYROSCOPE: 'sometimes' }, 'OOMKIT_PYROSCOPE=sometimes: expected on, off, wall or heap'],
  ])('a bad value fails start naming the variable: %j', async (bad, message) => {
    const child = registered({ PYROSCOPE_SERVER_ADDRESS: ingest.url, PYROSCOPE_APPLICATION_NAME: 'x', ...bad })
    expect(await child.exited).toBe(1)
    expect(child.stderr).toContain(`oomkit/register: ${message}`)
    expect(child.stderr).toContain('[OOMKIT_INVALID_ENV]')
  })
})
