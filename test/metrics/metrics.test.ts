import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { getHeapStatistics } from 'node:v8'
import client, { type OpenMetricsContentType, Registry } from 'prom-client'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { EXPECTED, roots } from '../fixtures/cgroup/expected.js'
import { requireOrSkip } from '../helpers/require.js'

const quiet = pino({ level: 'silent' })
const PROMTOOL = '/usr/bin/promtool'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the sample lines of a text exposition (enough for what prom-client writes). */
function parseSamples(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`unparsable sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** `# TYPE` of every family in the text. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]))
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (matches.length > 1) throw new Error(`${matches.length} series for ${name} ${JSON.stringify(labels)}`)
  return matches[0]?.value
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const gc = (globalThis as { gc?: () => void }).gc

const kits: Oomkit[] = []
function startKit(options: Parameters<typeof createOomkit>[0]): Oomkit {
  const kit = createOomkit({ logger: quiet, ...options }).start()
  kits.push(kit)
  return kit
}
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 })
  if (r.error) throw r.error
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

const OOMKIT_TYPES = {
  oomkit_container_memory_working_set_bytes: 'gauge',
  oomkit_container_memory_usage_bytes: 'gauge',
  oomkit_container_memory_limit_bytes: 'gauge',
  oomkit_container_memory_rss_bytes: 'gauge',
  oomkit_container_memory_cache_bytes: 'gauge',
  oomkit_container_oom_kills_total: 'counter',
  oomkit_container_memory_pressure_seconds_total: 'counter',
  oomkit_memory_limit_utilization_ratio: 'gauge',
  oomkit_v8_heap_limit_bytes: 'gauge',
  oomkit_v8_heap_live_bytes: 'gauge',
  oomkit_memory_arraybuffers_bytes: 'gauge',
  oomkit_collector_errors_total: 'counter',
} as const

describe('metrics on v2-limited-256m', () => {
  it("exports every metric of the SPEC with the fixture's values, plus prom-client's defaults", async () => {
    const registry = new Registry()
    const kit = startKit({ ...roots('v2-limited-256m'), registry })
    gc!()
    await until(() => kit.report().v8.liveAfterGcBytes !== null)
    const retained = Buffer.alloc(8 * 1024 * 1024, 1)

    const text = await registry.metrics()
    const arrayBuffersAfter = process.memoryUsage().arrayBuffers
    const samples = parseSamples(text)
    const t = types(text)
    const m = EXPECTED['v2-limited-256m']!.memory!

    for (const [name, type] of Object.entries(OOMKIT_TYPES)) expect(t.get(name), name).toBe(type)
    expect(value(samples, 'oomkit_container_memory_working_set_bytes')).toBe(m.workingSetBytes)
    expect(value(samples, 'oomkit_container_memory_usage_bytes')).toBe(m.usageBytes)
    expect(value(samples, 'oomkit_container_memory_limit_bytes')).toBe(m.limitBytes)
    expect(value(samples, 'oomkit_container_memory_rss_bytes')).toBe(m.rssBytes)
    expect(value(samples, 'oomkit_container_memory_cache_bytes')).toBe(m.cacheBytes)
    expect(value(samples, 'oomkit_container_oom_kills_total')).toBe(1)
    expect(value(samples, 'oomkit_container_memory_pressure_seconds_total', { kind: 'some' })).toBe(4.823115)
    expect(value(samples, 'oomkit_container_memory_pressure_seconds_total', { kind: 'full' })).toBe(3.100452)
    expect(value(samples, 'oomkit_memory_limit_utilization_ratio')).toBe(m.workingSetBytes! / m.limitBytes!)
    expect(value(samples, 'oomkit_v8_heap_limit_bytes')).toBe(getHeapStatistics().heap_size_limit)
    const live = value(samples, 'oomkit_v8_heap_live_bytes')
    expect(live).toBe(kit.report().v8.liveAfterGcBytes)
    expect(live!).toBeGreaterThan(0)
    const arrayBuffers = value(samples, 'oomkit_memory_arraybuffers_bytes')!
    expect(arrayBuffers).toBeGreaterThanOrEqual(retained.length)
    expect(Math.abs(arrayBuffers - arrayBuffersAfter)).toBeLessThan(1024 * 1024)
    // No failures yet: the errors counter is there with no series.
    expect(samples.filter((s) => s.name === 'oomkit_collector_errors_total')).toEqual([])
    // prom-client's defaults came along.
    expect(t.get('process_cpu_user_seconds_total')).toBe('counter')
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    retained.fill(0)
  })

  it('leaves the v8 live set out until a major GC was seen, never a 0', async () => {
    // A fresh kit: its GC observer has seen nothing yet.
    const registry = new Registry()
    const kit = startKit({ ...roots('v2-limited-256m'), registry, defaultMetrics: false })
    expect(kit.report().v8.liveAfterGcBytes).toBeNull()
    const samples = parseSamples(await registry.metrics())
    expect(value(samples, 'oomkit_v8_heap_live_bytes')).toBeUndefined()
  })

  it('puts no metric of the container in the scrape when there is no memory cgroup', async () => {
    const registry = new Registry()
    startKit({ ...roots('no-cgroupfs'), registry, defaultMetrics: false })
    const samples = parseSamples(await registry.metrics())
    expect(samples.filter((s) => s.name.startsWith('oomkit_container_') || s.name === 'oomkit_memory_limit_utilization_ratio')).toEqual([])
    expect(value(samples, 'oomkit_v8_heap_limit_bytes')).toBe(getHeapStatistics().heap_size_limit)
  })
})

describe('metrics on v2-unlimited', () => {
  it('leaves the limit and the utilization out (absent, not 0 or +Inf)', async () => {
    const registry = new Registry()
    startKit({ ...roots('v2-unlimited'), registry })
    const samples = parseSamples(await registry.metrics())
    expect(value(samples, 'oomkit_container_memory_limit_bytes')).toBeUndefined()
    expect(value(samples, 'oomkit_memory_limit_utilization_ratio')).toBeUndefined()
    expect(value(samples, 'oomkit_container_memory_working_set_bytes')).toBe(174063616)
    expect(value(samples, 'oomkit_container_oom_kills_total')).toBe(0)
  })
})

describe('prom-client default metrics', () => {
  it('are registered once when the app called collectDefaultMetrics first, and stay after stop', async () => {
    const registry = new Registry()
    client.collectDefaultMetrics({ register: registry })
    const appDefaults = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .sort()
    const kit = startKit({ ...roots('v2-limited-256m'), registry })
    const text = await registry.metrics()
    expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1)
    await kit.stop()
    expect(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    ).toEqual(appDefaults)
  })

  it('are registered by oomkit when the app did not, once per registry: they stay after stop and are not added again', async () => {
    // prom-client's defaults run an event-loop-delay monitor and a GC observer it cannot stop, so
    // oomkit registers them once per registry, like the app would, and never piles up new ones.
    const registry = new Registry()
    const kit = startKit({ ...roots('v2-limited-256m'), registry })
    const defaults = registry.getMetricsAsArray().filter((m) => !m.name.startsWith('oomkit_'))
    expect(registry.getSingleMetric('process_cpu_user_seconds_total')).toBeDefined()
    await kit.stop()
    expect(registry.getMetricsAsArray()).toEqual(defaults)
    const again = startKit({ ...roots('v2-limited-256m'), registry })
    expect(registry.getMetricsAsArray().filter((m) => !m.name.startsWith('oomkit_'))).toEqual(defaults)
    await again.stop()
    expect(registry.getMetricsAsArray()).toEqual(defaults)
  })

  it('are not registered with defaultMetrics: false', async () => {
    const registry = new Registry()
    startKit({ ...roots('v2-limited-256m'), registry, defaultMetrics: false })
    expect(registry.getSingleMetric('process_cpu_user_seconds_total')).toBeUndefined()
    expect(registry.getMetricsAsArray().every((m) => m.name.startsWith('oomkit_'))).toBe(true)
  })
})

describe('two kits sharing one registry', () => {
  it.each([
    ['the older first', [0, 1]],
    ['the newer first', [1, 0]],
  ])("register without error, serve each family once, and leave only the app's metrics after both stop (%s)", async (_order, stopOrder) => {
    const registry = new Registry()
    // The app's own defaults, so that what is left at the end is exactly the app's.
    client.collectDefaultMetrics({ register: registry })
    const appDefaults = registry.getMetricsAsArray().map((m) => m.name)
    const appCounter = new client.Counter({ name: 'app_requests_total', help: 'Requests served by the app.', registers: [registry] })
    appCounter.inc(3)
    const a = startKit({ ...roots('v2-limited-256m'), registry })
    const b = startKit({ ...roots('v2-unlimited'), registry })

    const text = await registry.metrics()
    for (const name of [...Object.keys(OOMKIT_TYPES), 'process_cpu_user_seconds_total']) {
      expect(text.match(new RegExp(`^# TYPE ${name} `, 'gm')), name).toHaveLength(1)
    }
    // The newest instance serves the shared names.
    expect(value(parseSamples(text), 'oomkit_container_memory_limit_bytes')).toBeUndefined()

    const pair = [a, b]
    const [first, second] = stopOrder as [number, number]
    await pair[first]!.stop()
    // The instance still running serves every oomkit family, with its own readings.
    const middle = await registry.metrics()
    for (const name of Object.keys(OOMKIT_TYPES)) expect(middle.match(new RegExp(`^# TYPE ${name} `, 'gm')), name).toHaveLength(1)
    expect(value(parseSamples(middle), 'oomkit_container_memory_limit_bytes')).toBe(second === 0 ? 268435456 : undefined)
    await pair[second]!.stop()
    const left = registry.getMetricsAsArray().map((m) => m.name)
    expect(left.sort()).toEqual([...appDefaults, 'app_requests_total'].sort())
    expect(value(parseSamples(await registry.metrics()), 'app_requests_total')).toBe(3)
  })
})

describe('OpenMetrics exposition', () => {
  it("serves oomkit's counters with the _total suffix on samples only, and ends with # EOF", async () => {
    const registry = new Registry()
    ;(registry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    const kit = startKit({ ...roots('v2-limited-256m'), registry })
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await registry.metrics()
      expect(text.endsWith('# EOF\n')).toBe(true)
      expect(text).toMatch(/^# TYPE oomkit_container_oom_kills counter$/m)
      expect(text).toMatch(/^oomkit_container_oom_kills_total 1$/m)
      expect(text).toMatch(/^# TYPE oomkit_container_memory_pressure_seconds counter$/m)
      expect(text).toMatch(/^oomkit_container_memory_pressure_seconds_total\{kind="some"\} 4\.823115$/m)
      expect(text).toMatch(/^# TYPE oomkit_container_memory_working_set_bytes gauge$/m)
      expect(text).toMatch(/^oomkit_container_memory_working_set_bytes 174063616$/m)
      expect(text).not.toMatch(/_total_total/)
    }
    // prom-client renamed the counters while serving OpenMetrics; stop still takes all of oomkit's out.
    await kit.stop()
    expect(registry.getMetricsAsArray().filter((m) => m.name.startsWith('oomkit_'))).toEqual([])
  })
})

describe.runIf(requireOrSkip(existsSync(PROMTOOL), `${PROMTOOL} is missing (apt-get install prometheus)`))('promtool check metrics', () => {
  it.each([
    ['v2-limited-256m', roots('v2-limited-256m')],
    ['v2-unlimited', roots('v2-unlimited')],
    ["this machine's own cgroup", {}],
  ])("finds nothing to report in oomkit's exposition (%s)", async (_name, where) => {
    const registry = new Registry()
    const kit = startKit({ ...where, registry, defaultMetrics: false })
    gc!()
    await until(() => kit.report().v8.liveAfterGcBytes !== null)
    const text = await registry.metrics()
    expect(parseSamples(text).length).toBeGreaterThan(3)
    expect(promtool(text)).toEqual({ status: 0, output: '' })
  })

  it("adds no finding to what promtool reports about prom-client's own default metrics", async () => {
    // prom-client's defaults alone (nodejs_active_handles_total and friends are gauges named
    // *_total) are what promtool lints; oomkit registers them as they are.
    const baseline = new Registry()
    client.collectDefaultMetrics({ register: baseline })
    const promClientOnly = promtool(await baseline.metrics())

    const registry = new Registry()
    startKit({ ...roots('v2-limited-256m'), registry })
    const withOomkit = promtool(await registry.metrics())
    expect(withOomkit.output.split('\n').sort()).toEqual(promClientOnly.output.split('\n').sort())
    expect(withOomkit.output).not.toContain('oomkit_')
    if (promClientOnly.output !== '') console.info(`promtool on prom-client's own defaults (not oomkit's):\n${promClientOnly.output}`)
  })
})
