// /metrics in OpenMetrics (what Prometheus asks for by default) carries the same oomkit_ samples as
// the text format. It once carried none: the OpenMetrics route serves each metric through an
// Object.create() wrapper, and a #private method of MetricFamily threw on it (test/e2e/prometheus.test.ts
// found it with a real Prometheus).
import genericPool from 'generic-pool'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { roots } from '../fixtures/cgroup/expected.js'
import { send } from '../helpers/http.js'

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

/** `name{labels}` → value of every oomkit_ sample line. */
function samples(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^(oomkit_[a-zA-Z0-9_]+(?:\{[^}]*\})?) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]))
}

describe('OpenMetrics /metrics', () => {
  it("has every oomkit_ sample of the text format, counters, gauges and histograms alike, with the fixture's values", async () => {
    const kit = createOomkit({
      ...roots('v2-limited-256m'),
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      logIntervalMs: 0,
      defaultMetrics: false,
    }).start()
    kits.push(kit)
    const cache = kit.cache('users', { max: 10 })
    cache.set('a', 1)
    cache.get('a')
    const pool = genericPool.createPool({ create: () => Promise.resolve({}), destroy: () => Promise.resolve() }, { max: 1 })
    kit.leaks.trackPool(pool, { name: 'jobs' })
    await pool.release(await pool.acquire())
    const server = await kit.listen({ port: 0 })
    try {
      const text = await send(server.address.port, { path: '/metrics' })
      const om = await send(server.address.port, { path: '/metrics', headers: { accept: OPENMETRICS } })
      expect(om.headers['content-type']).toMatch(/^application\/openmetrics-text/)
      const plain = samples(text.body)
      const open = samples(om.body)
      expect(plain.size).toBeGreaterThan(40)
      for (const key of [
        'oomkit_container_memory_working_set_bytes',
        'oomkit_memory_budget_info',
        'oomkit_cache_hits_total{cache="users"}',
        'oomkit_pool_acquire_wait_seconds_count{kind="generic-pool",pool="jobs"}',
      ]) {
        expect(
          [...plain.keys()].some((k) => k.startsWith(key)),
          key,
        ).toBe(true)
      }
      expect([...open.keys()].sort()).toEqual([...plain.keys()].sort())
      // Read from the fixture's files: the same in both scrapes.
      for (const name of ['oomkit_container_memory_working_set_bytes', 'oomkit_container_memory_limit_bytes', 'oomkit_cache_hits_total{cache="users"}']) {
        expect(open.get(name), name).toBe(plain.get(name))
      }
    } finally {
      await pool.drain()
      await pool.clear()
    }
  })
})
