import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type ContainerMemory, locateMemoryCgroup, readContainerMemory } from '../../src/container/index.js'
import { type MetricSources, type RegisteredMetrics, type V8Source, coreCollectors, readV8Source, registerMetrics } from '../../src/metrics/index.js'
import { fixture } from '../fixtures/cgroup/expected.js'

const f = fixture('v2-limited-256m')
const location = locateMemoryCgroup(f.procRoot, f.cgroupRoot)!

/** The real sources, counting calls. */
function realSources(): { container: () => ContainerMemory | null; v8: () => V8Source; calls: { container: number; v8: number } } {
  const calls = { container: 0, v8: 0 }
  return {
    calls,
    container: () => {
      calls.container++
      return readContainerMemory(location)
    },
    v8: () => {
      calls.v8++
      return readV8Source(() => 12345678)
    },
  }
}

const OPTIONS = { prefix: 'oomkit_', timeoutMs: 200, defaultMetrics: false } as const

const registered: RegisteredMetrics[] = []
function register(registry: Registry, sources: MetricSources): RegisteredMetrics {
  const r = registerMetrics(registry, coreCollectors(sources), OPTIONS)
  registered.push(r)
  return r
}
afterEach(() => {
  for (const r of registered.splice(0)) r.unregister()
})

// Reads the counter as it stands, without get(): get() runs its collect(), which waits for (and
// so starts) another round of the collectors.
async function errorCount(r: RegisteredMetrics, collector: string): Promise<number> {
  const hashMap = (r.errors as unknown as { hashMap: Record<string, { value: number; labels: { collector?: string } }> }).hashMap
  return Object.values(hashMap).find((v) => v.labels.collector === collector)?.value ?? 0
}

/** Scrapes and measures how long it took. */
async function timedScrape(registry: Registry): Promise<{ text: string; ms: number }> {
  const start = performance.now()
  const text = await registry.metrics()
  return { text, ms: performance.now() - start }
}

const CONTAINER_SERIES = /^oomkit_container_memory_working_set_bytes 174063616$/m
const V8_SERIES = new RegExp(`^oomkit_v8_heap_limit_bytes ${getHeapStatistics().heap_size_limit}$`, 'm')

describe('a collector whose source throws', () => {
  it.each([
    [
      'synchronously',
      () => {
        throw new Error('EIO reading memory.current')
      },
    ],
    [
      'asynchronously',
      async () => {
        throw new Error('EIO reading memory.current')
      },
    ],
  ])('(%s) loses its series; the scrape keeps the others and counts the error', async (_how, failing) => {
    const registry = new Registry()
    const real = realSources()
    let failingCalls = 0
    const r = register(registry, {
      container: () => {
        failingCalls++
        return failing()
      },
      v8: real.v8,
    })

    const first = await timedScrape(registry)
    expect(first.ms).toBeLessThan(1000)
    expect(first.text).toMatch(V8_SERIES)
    expect(first.text).toMatch(/^oomkit_v8_heap_live_bytes 12345678$/m)
    expect(first.text).not.toMatch(/^oomkit_container_/m)
    expect(first.text).not.toMatch(/^oomkit_memory_limit_utilization_ratio /m)
    expect(await errorCount(r, 'container')).toBe(1)
    expect(await errorCount(r, 'v8')).toBe(0)
    // The failure is counted in the scrape it happened in, not one scrape late.
    expect(first.text).toMatch(/^oomkit_collector_errors_total\{collector="container"\} 1$/m)

    // A source that settled (by failing) is asked again on the next scrape: once per scrape.
    const second = await registry.metrics()
    expect(failingCalls).toBe(2)
    expect(second).toMatch(/^oomkit_collector_errors_total\{collector="container"\} 2$/m)
    expect(await errorCount(r, 'container')).toBe(2)
  })
})

describe('a collector whose source never resolves', () => {
  it('does not hold up the scrape past the timeout; its series are left out and the error counted', async () => {
    const registry = new Registry()
    const real = realSources()
    const r = register(registry, { container: real.container, v8: () => new Promise<V8Source>(() => {}) })

    const { text, ms } = await timedScrape(registry)
    expect(ms).toBeLessThan(1000)
    expect(ms).toBeGreaterThanOrEqual(190) // it did wait for the source, up to the timeout
    expect(text).toMatch(CONTAINER_SERIES)
    expect(text).toMatch(/^oomkit_container_memory_limit_bytes 268435456$/m)
    expect(text).not.toMatch(/^oomkit_v8_/m)
    expect(text).not.toMatch(/^oomkit_memory_arraybuffers_bytes /m)
    expect(await errorCount(r, 'v8')).toBe(1)
    expect(await errorCount(r, 'container')).toBe(0)
  })

  it('is not called again while its earlier call is still pending', async () => {
    const registry = new Registry()
    const real = realSources()
    let hungCalls = 0
    const r = register(registry, {
      container: real.container,
      v8: () => {
        hungCalls++
        return new Promise<V8Source>(() => {})
      },
    })
    for (let i = 1; i <= 3; i++) {
      const { text, ms } = await timedScrape(registry)
      expect(ms).toBeLessThan(1000)
      expect(text).toMatch(CONTAINER_SERIES)
      expect(await errorCount(r, 'v8')).toBe(i)
    }
    expect(hungCalls).toBe(1)
    expect(real.calls.container).toBe(3)
  })

  it('counts both collectors when both fail in the same scrape', async () => {
    const registry = new Registry()
    const r = register(registry, {
      container: () => {
        throw new Error('boom')
      },
      v8: () => new Promise<V8Source>(() => {}),
    })
    const { text, ms } = await timedScrape(registry)
    expect(ms).toBeLessThan(1000)
    expect(text).not.toMatch(/^oomkit_(container|v8|memory)_/m)
    expect(await errorCount(r, 'container')).toBe(1)
    expect(await errorCount(r, 'v8')).toBe(1)
  })
})

describe('a collector whose source is slow', () => {
  it('is waited for within the timeout, and no error is counted', async () => {
    const registry = new Registry()
    const real = realSources()
    const r = register(registry, {
      container: () => new Promise((resolve) => setTimeout(() => resolve(real.container()), 50)),
      v8: real.v8,
    })
    const text = await registry.metrics()
    expect(text).toMatch(CONTAINER_SERIES)
    expect(await errorCount(r, 'container')).toBe(0)
  })

  it('past the timeout is left out of that scrape, and asked again once it has settled', async () => {
    const registry = new Registry()
    const real = realSources()
    let calls = 0
    let settled: Promise<void> = Promise.resolve()
    const r = register(registry, {
      container: () => {
        calls++
        const p = new Promise<ContainerMemory | null>((resolve) => setTimeout(() => resolve(real.container()), 300))
        settled = p.then(() => undefined)
        return p
      },
      v8: real.v8,
    })
    expect(await registry.metrics()).not.toMatch(CONTAINER_SERIES)
    expect(await errorCount(r, 'container')).toBe(1)
    await settled
    await registry.metrics()
    expect(calls).toBe(2)
  })
})

describe('one reading per scrape', () => {
  it('reads each source once per scrape, however many families it feeds', async () => {
    const registry = new Registry()
    const real = realSources()
    register(registry, real)
    await registry.metrics()
    expect(real.calls).toEqual({ container: 1, v8: 1 })
    await registry.metrics()
    expect(real.calls).toEqual({ container: 2, v8: 2 })
  })
})

describe('/metrics over real HTTP with a hung collector', () => {
  let server: Server | null = null
  afterEach(async () => {
    if (server === null) return
    server.closeAllConnections()
    await new Promise((resolve) => server!.close(resolve))
    server = null
  })

  it("answers within 1 s with the healthy collector's series", async () => {
    const registry = new Registry()
    const real = realSources()
    register(registry, { container: real.container, v8: () => new Promise<V8Source>(() => {}) })
    server = createServer((req, res) => {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType })
          res.end(body)
        },
        (err: unknown) => {
          res.writeHead(500)
          res.end(String(err))
        },
      )
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo

    for (let i = 0; i < 2; i++) {
      const start = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) })
      const body = await res.text()
      expect(performance.now() - start).toBeLessThan(1000)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe(Registry.PROMETHEUS_CONTENT_TYPE)
      expect(body).toMatch(CONTAINER_SERIES)
      expect(body).not.toMatch(/^oomkit_v8_/m)
    }
  })
})
