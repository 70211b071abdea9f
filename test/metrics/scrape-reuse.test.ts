import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import client, { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { internals } from '../../src/internal.js'
import { SCRAPE_READING_MAX_AGE_MS } from '../../src/memory/core.js'
import { defineCollector } from '../../src/metrics/collector.js'
import { type RegisteredMetrics, registerMetrics } from '../../src/metrics/index.js'
import { LabelMemo } from '../../src/metrics/label-memo.js'
import { fixture } from '../fixtures/cgroup/expected.js'

const scratch = mkdtempSync(join(tmpdir(), 'oomkit-scrape-reuse-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const kits: Oomkit[] = []
const registered: RegisteredMetrics[] = []
afterEach(async () => {
  for (const r of registered.splice(0)) r.unregister()
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function line(text: string, series: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${series} `))
}

/** A started kit (no default metrics, no profiler) on a copy of the v2 256 MiB fixture under `scratch/<copy>`, whose files a test may change. */
function startOnFixtureCopy(copy: string): { dir: string; registry: Registry; kit: Oomkit } {
  const root = join(scratch, copy)
  cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
  const dir = join(root, 'sys/fs/cgroup')
  const registry = new Registry()
  const kit = createOomkit({
    logger: pino({ level: 'silent' }),
    registry,
    logIntervalMs: 0,
    defaultMetrics: false,
    heapProfile: false,
    cgroupRoot: dir,
    procRoot: join(root, 'proc'),
  })
  kits.push(kit.start())
  return { dir, registry, kit }
}

describe('container readings at scrape time', () => {
  it('are reused for at most 1 s: a changed file shows within a second, a vanished cgroup reads as gone', async () => {
    const { dir, registry, kit } = startOnFixtureCopy('v2')
    let t = 1_000_000
    internals(kit).setClock(() => t)
    const usage = async (): Promise<string | undefined> => line(await registry.metrics(), 'oomkit_container_memory_usage_bytes')
    const first = await usage()
    expect(first).toMatch(/^oomkit_container_memory_usage_bytes \d+$/)
    writeFileSync(join(dir, 'memory.current'), '123456789\n')
    writeFileSync(join(dir, 'memory.peak'), '223456789\n')
    // Within the second: the reading of the scrape before.
    t += SCRAPE_READING_MAX_AGE_MS
    expect(await usage()).toBe(first)
    // Past it: read again, with the kernel signals.
    t += 1
    const text = await registry.metrics()
    expect(line(text, 'oomkit_container_memory_usage_bytes')).toBe('oomkit_container_memory_usage_bytes 123456789')
    expect(line(text, 'oomkit_container_memory_peak_bytes')).toBe('oomkit_container_memory_peak_bytes 223456789')
    // A clock that went back reads anew too.
    writeFileSync(join(dir, 'memory.current'), '23456789\n')
    t -= 10
    expect(await usage()).toBe('oomkit_container_memory_usage_bytes 23456789')
    // The container torn down: gone within a second, not served from the last reading.
    rmSync(dir, { recursive: true })
    t += SCRAPE_READING_MAX_AGE_MS + 1
    expect(await usage()).toBeUndefined()
  })

  it('a sample refreshes what the next scrape serves', async () => {
    const { dir, registry, kit } = startOnFixtureCopy('v2-sample')
    const t = 5_000_000
    internals(kit).setClock(() => t)
    await registry.metrics()
    writeFileSync(join(dir, 'memory.current'), '99999999\n')
    internals(kit).tick()
    expect(line(await registry.metrics(), 'oomkit_container_memory_usage_bytes')).toBe('oomkit_container_memory_usage_bytes 99999999')
  })
})

describe('label objects kept across scrapes', () => {
  function registerOne(registry: Registry, values: () => { value: number; labels: Record<string, string> }[], histogram = false): void {
    const collector = defineCollector({
      name: 'test',
      read: () => 1,
      families: histogram
        ? [
            {
              name: 'h_seconds',
              help: 'A histogram.',
              type: 'histogram' as const,
              buckets: [0.1, 1],
              values: () => values().map((v) => ({ labels: v.labels, counts: [1, 2], sum: v.value, count: 4 })),
            },
          ]
        : [{ name: 'g', help: 'A gauge.', type: 'gauge' as const, values }],
    })
    registered.push(registerMetrics(registry, [collector], { prefix: 't_', timeoutMs: 200, defaultMetrics: false }))
  }

  it('give the same text as prom-client formats for the same labels, escapes and default labels included, every scrape', async () => {
    const memo = new LabelMemo<Readonly<Record<string, string>>>((pool, kind) => Object.freeze({ kind, pool }))
    const odd = 'a "quoted"\\ pool\nname'
    const ours = new Registry()
    registerOne(ours, () => [
      { value: 1, labels: memo.get(odd, 'pg') },
      { value: 2, labels: memo.get('plain', 'pg') },
    ])
    // The same values through a prom-client Gauge: the reference text.
    const theirs = new Registry()
    const gauge = new client.Gauge({ name: 't_g', help: 'A gauge.', labelNames: ['kind', 'pool'], registers: [theirs] })
    gauge.set({ kind: 'pg', pool: odd }, 1)
    gauge.set({ kind: 'pg', pool: 'plain' }, 2)
    const reference = await theirs.getSingleMetricAsString('t_g')
    for (let i = 0; i < 3; i++) {
      memo.flip()
      expect(await ours.getSingleMetricAsString('t_g')).toBe(reference)
    }
    // JSON (the cluster aggregator) still carries the labels on each value.
    const json = await ours.getMetricsAsJSON()
    expect(json.find((m) => m.name === 't_g')?.values.map((v) => v.labels)).toEqual([
      { kind: 'pg', pool: odd },
      { kind: 'pg', pool: 'plain' },
    ])
    // Default labels: the same set of labels (prom-client puts them after a series' own; here first).
    ours.setDefaultLabels({ app: 'x' })
    expect((await ours.getSingleMetricAsString('t_g')).split('\n')[3]).toMatch(/^t_g\{(?=.*app="x")(?=.*kind="pg")(?=.*pool="plain").*\} 2$/)
  })

  it('a labels object that is not frozen is formatted afresh each scrape (it may have changed in place)', async () => {
    const registry = new Registry()
    const labels = { cache: 'before' }
    registerOne(registry, () => [{ value: 1, labels }])
    expect(await registry.getSingleMetricAsString('t_g')).toContain('t_g{cache="before"} 1')
    labels.cache = 'after'
    expect(await registry.getSingleMetricAsString('t_g')).toContain('t_g{cache="after"} 1')
  })

  it('histograms: bucket label objects per frozen labels object, the same text as unfrozen ones', async () => {
    const frozen = new Registry()
    const plain = new Registry()
    const memo = new LabelMemo<Readonly<Record<string, string>>>((pool) => Object.freeze({ pool }))
    registerOne(frozen, () => [{ value: 3, labels: memo.get('p"1') }], true)
    registerOne(plain, () => [{ value: 3, labels: { pool: 'p"1' } }], true)
    const expected = await plain.getSingleMetricAsString('t_h_seconds')
    expect(expected).toContain('t_h_seconds_bucket{pool="p\\"1",le="+Inf"} 4')
    for (let i = 0; i < 2; i++) {
      memo.flip()
      expect(await frozen.getSingleMetricAsString('t_h_seconds')).toBe(expected)
    }
  })

  it('LabelMemo keeps the same object while asked for every scrape, and drops what a scrape did not ask for', () => {
    let built = 0
    const memo = new LabelMemo((a, b) => (built++, Object.freeze({ a, b })))
    const one = memo.get('x', 'y')
    expect(memo.get('x', 'y')).toBe(one)
    memo.flip()
    expect(memo.get('x', 'y')).toBe(one)
    memo.get('z')
    expect(built).toBe(2)
    memo.flip()
    memo.flip() // a scrape that asked for nothing
    expect(memo.get('x', 'y')).not.toBe(one)
    expect(built).toBe(3)
  })
})
