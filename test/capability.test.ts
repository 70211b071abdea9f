import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type AnyCapabilityDefinition, type Capability, defineCapability } from '../src/capability.js'
import { CAPABILITIES } from '../src/capabilities.js'
import { Oomkit } from '../src/index.js'
import { type HistogramValue, defineCollector, single } from '../src/metrics/index.js'
import { capture } from './heap/snapshot/helpers.js'
import { requireOrSkip } from './helpers/require.js'

// The contract a capability lands in (issue 7): its collectors go through the same guard as the
// core's, its failures stay its own, and the kit stops capabilities in reverse order.

const PROMTOOL = '/usr/bin/promtool'
const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

/** A test capability built from parts; the option key is borrowed (tests only): it has no option of its own. */
function testCapability(name: string, build: () => Capability<null>): AnyCapabilityDefinition {
  return defineCapability({
    name,
    option: 'heapProfile',
    defaults: { intervalBytes: 524_288, stackDepth: 64 },
    resolve: (): false => false,
    section: 'trend',
    create: build,
  }) as AnyCapabilityDefinition
}

const histogram = (): HistogramValue[] => [{ labels: { kind: 'socket', pool: 'db' }, counts: [3, 1, 0, 2], sum: 42.5, count: 7 }]

function faulty(log: string[]): AnyCapabilityDefinition {
  return testCapability('faulty', () => ({
    collectors: [
      defineCollector<number>({
        name: 'throws',
        read: () => {
          throw new Error('EIO')
        },
        families: [{ name: 'test_throws_bytes', help: 'Throws.', type: 'gauge', values: () => single(1) }],
      }),
      defineCollector({
        name: 'hangs',
        read: () => new Promise<number>(() => {}),
        families: [{ name: 'test_hangs_bytes', help: 'Never resolves.', type: 'gauge', values: (v) => single(v) }],
      }),
      defineCollector({
        name: 'holds',
        read: histogram,
        families: [
          { name: 'test_hold_seconds', help: 'Hold times.', type: 'histogram', buckets: [0.1, 1, 10, 60], values: (h) => h },
          { name: 'test_holds_total', help: 'Holds.', type: 'counter', values: (h) => [{ value: h[0]!.count, labels: { pool: 'db' } }] },
        ],
      }),
    ],
    start() {
      log.push('start faulty')
      throw new Error('native add-on missing')
    },
    onSample() {
      throw new Error('onSample broke')
    },
    stop() {
      log.push('stop faulty')
      throw new Error('stop broke')
    },
    section: () => null,
  }))
}

function quiet(name: string, log: string[]): AnyCapabilityDefinition {
  return testCapability(name, () => ({
    start: () => void log.push(`start ${name}`),
    stop: async () => {
      await new Promise((r) => setTimeout(r, 5))
      log.push(`stop ${name}`)
    },
    section: () => null,
  }))
}

async function startWith(extra: AnyCapabilityDefinition[]): Promise<{ kit: Oomkit; registry: Registry; lines: Record<string, unknown>[] }> {
  const registry = new Registry()
  const cap = capture()
  const kit = new Oomkit({ registry, logger: cap.logger, collectorTimeoutMs: 100, logIntervalMs: 0, defaultMetrics: false, sampleIntervalMs: 100 }, [
    ...CAPABILITIES,
    ...extra,
  ])
  kits.push(kit)
  kit.start()
  return { kit, registry, lines: cap.lines }
}

describe('capability collectors', () => {
  it('a collector that throws and one that never resolves cannot fail the scrape: both counted, the rest served', async () => {
    const { registry } = await startWith([faulty([])])
    const started = performance.now()
    const text = await registry.metrics()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(text).toMatch(/^oomkit_collector_errors_total\{collector="throws"\} 1$/m)
    expect(text).toMatch(/^oomkit_collector_errors_total\{collector="hangs"\} 1$/m)
    expect(text).not.toMatch(/^oomkit_test_throws_bytes /m)
    expect(text).not.toMatch(/^oomkit_test_hangs_bytes /m)
    // The core's and the other capabilities' series are all there.
    expect(text).toMatch(/^oomkit_v8_heap_limit_bytes \d+$/m)
    expect(text).toMatch(/^oomkit_heap_snapshots_total\{outcome="ok"\} 0$/m)
    // A second scrape counts again: the hung read is not started twice, but it still times out.
    const again = await registry.metrics()
    expect(again).toMatch(/^oomkit_collector_errors_total\{collector="hangs"\} 2$/m)
    expect(again).toMatch(/^oomkit_collector_errors_total\{collector="throws"\} 2$/m)
  })

  it('serves histograms and counters read at scrape time, prefixed, with cumulative buckets', async () => {
    const { registry } = await startWith([faulty([])])
    const text = await registry.metrics()
    expect(text).toContain('# TYPE oomkit_test_hold_seconds histogram')
    for (const [le, v] of [
      ['0.1', 3],
      ['1', 4],
      ['10', 4],
      ['60', 6],
      ['+Inf', 7],
    ] as const) {
      expect(text).toContain(`oomkit_test_hold_seconds_bucket{kind="socket",pool="db",le="${le}"} ${v}`)
    }
    expect(text).toContain('oomkit_test_hold_seconds_sum{kind="socket",pool="db"} 42.5')
    expect(text).toContain('oomkit_test_hold_seconds_count{kind="socket",pool="db"} 7')
    expect(text).toMatch(/^oomkit_test_holds_total\{pool="db"\} 7$/m)
  })

  it.runIf(requireOrSkip(existsSync(PROMTOOL), `${PROMTOOL} is missing (apt-get install prometheus)`))(
    'promtool accepts the scrape-time histogram',
    async () => {
      const registry = new Registry()
      const kit = new Oomkit({ registry, logger: capture().logger, defaultMetrics: false, logIntervalMs: 0 }, [
        testCapability('holds', () => ({
          collectors: [
            defineCollector({
              name: 'holds',
              read: histogram,
              families: [{ name: 'test_hold_seconds', help: 'Hold times.', type: 'histogram', buckets: [0.1, 1, 10, 60], values: (h) => h }],
            }),
          ],
          section: () => null,
        })),
      ])
      kits.push(kit.start())
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8', timeout: 10_000 })
      expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: '' })
    },
  )
})

describe('capability lifecycle', () => {
  it('a capability that throws at start, in a hook or at stop is logged with its name; the app and the others run on', async () => {
    const log: string[] = []
    const { kit, lines } = await startWith([quiet('first', log), faulty(log), quiet('last', log)])
    expect(kit.running).toBe(true)
    expect(log).toEqual(['start first', 'start faulty', 'start last'])
    expect(lines).toContainEqual(expect.objectContaining({ capability: 'faulty', msg: expect.stringContaining('failed to start') }))
    await new Promise((r) => setTimeout(r, 250))
    expect(lines).toContainEqual(expect.objectContaining({ capability: 'faulty', hook: 'onSample', msg: expect.stringContaining('failed in onSample') }))
    // The report still answers, with every section.
    expect(kit.report()).toMatchObject({ trend: null, caches: { count: 0 }, leaks: expect.objectContaining({ running: true }) })
    await kit.stop()
    expect(log.slice(3)).toEqual(['stop last', 'stop faulty', 'stop first'])
    expect(lines).toContainEqual(expect.objectContaining({ capability: 'faulty', msg: expect.stringContaining('failed to stop cleanly') }))
  })
})

describe('capability log fields', () => {
  it("adds each capability's fields to the memory line; one that throws is logged and the line is still written", async () => {
    const adds = testCapability('adds', () => ({ logFields: () => ({ queueDepth: 3 }), section: () => null }))
    const breaks = testCapability('breaks', () => ({
      logFields: () => {
        throw new Error('logFields broke')
      },
      section: () => null,
    }))
    const { kit, lines } = await startWith([adds, breaks])
    kit.logMemory()
    expect(lines.filter((l) => l.msg === 'memory').pop()).toMatchObject({ queueDepth: 3, heapUsed: expect.any(Number) })
    expect(lines).toContainEqual(expect.objectContaining({ capability: 'breaks', hook: 'logFields' }))
  })
})

describe('capability api', () => {
  it('installs what a capability adds on the kit, and refuses a name taken twice or one the kit has', () => {
    const greeter = (name: string, key: string): AnyCapabilityDefinition =>
      testCapability(name, () => ({ api: { [key]: () => `hello from ${name}` } as never, section: () => null }))
    const kit = new Oomkit({ registry: new Registry(), logger: capture().logger }, [greeter('one', 'greet')])
    expect((kit as unknown as { greet(): string }).greet()).toBe('hello from one')
    expect(Object.keys(kit)).not.toContain('greet')
    expect(() => new Oomkit({ registry: new Registry(), logger: capture().logger }, [greeter('one', 'greet'), greeter('two', 'greet')])).toThrow(
      /capability two adds kit.greet/,
    )
    expect(() => new Oomkit({ registry: new Registry(), logger: capture().logger }, [greeter('one', 'report')])).toThrow(
      /kit.report, which the kit has already/,
    )
  })
})
