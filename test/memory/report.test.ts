import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { createOomkit, type MemoryReport } from '../../src/index.js'
import { EXPECTED, fixture, roots } from '../fixtures/cgroup/expected.js'
import { internals } from '../../src/internal.js'

const quiet = pino({ level: 'silent' })

function kitOn(name: string, extra: { historySize?: number } = {}): ReturnType<typeof createOomkit> {
  return createOomkit({ ...roots(name), logger: quiet, registry: new Registry(), ...extra })
}

// Numbers in the report that are not byte counts (and so may be fractional).
const NOT_BYTES = [/^container\.utilization$/, /^container\.pressure\.(some|full)\.(avg10|avg60|avg300|totalSeconds)$/]

/** Every numeric leaf of an object, with its dotted path. */
function numericLeaves(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]]
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => numericLeaves(v, path === '' ? k : `${path}.${k}`))
}

function expectIntegerBytes(report: MemoryReport): void {
  const leaves = numericLeaves(report)
  expect(leaves.length).toBeGreaterThan(20)
  for (const [path, n] of leaves) {
    if (NOT_BYTES.some((re) => re.test(path))) {
      expect(Number.isFinite(n), path).toBe(true)
      continue
    }
    expect(Number.isInteger(n), `${path} = ${n} is not an integer`).toBe(true)
    // Only the headroom can be negative (heap limit above the container limit).
    if (path !== 'budget.headroomBytes') expect(n, path).toBeGreaterThanOrEqual(0)
  }
}

describe('kit.report() on every fixture', () => {
  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const kit = kitOn(name)
    const report = kit.report()

    for (const section of ['timestamp', 'pid', 'uptimeSeconds', 'process', 'v8', 'container', 'budget', 'trend', 'snapshot', 'caches', 'leaks', 'history']) {
      expect(report).toHaveProperty(section)
    }
    expect(Object.keys(report.process).sort()).toEqual(['arrayBuffers', 'external', 'heapTotal', 'heapUsed', 'rss'])
    expect(report.pid).toBe(process.pid)
    expect(Number.isNaN(Date.parse(report.timestamp))).toBe(false)
    expect(report.v8.heapSizeLimit).toBe(getHeapStatistics().heap_size_limit)
    expect(report.v8.spaces.map((s) => s.name)).toContain('old_space')
    expectIntegerBytes(report)

    if (expected.memory === null) {
      expect(report.container).toBeNull()
      expect(report.budget.verdict).toBe('unknown')
      return
    }
    const m = expected.memory
    const utilization = m.workingSetBytes !== null && m.limitBytes !== null ? m.workingSetBytes / m.limitBytes : null
    expect(report.container).toEqual({ ...m, utilization, kernel: expect.any(Object) })
    expect(report.budget.containerLimitBytes).toBe(m.limitBytes)
    if (m.limitBytes === null) expect(report.budget.verdict).toBe('no-container-limit')
    else expect(report.budget.verdict).toBe(report.v8.heapSizeLimit >= m.limitBytes ? 'heap-limit-exceeds-container' : 'ok')
  })

  it('utilization is working set / limit from the same reading', () => {
    const c = kitOn('v2-limited-256m').report().container!
    expect(c.utilization).toBe(c.workingSetBytes! / c.limitBytes!)
    expect(c.utilization).toBe(174063616 / 268435456)
    expect(kitOn('v2-floor-zero').report().container!.utilization).toBe(0)
    expect(kitOn('v2-unlimited').report().container!.utilization).toBeNull()
  })

  it('serializes to JSON and back unchanged (what GET /debug/memory sends)', () => {
    const report = kitOn('v2-nested-host-view').report()
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })
})

describe('kit.report() freshness', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-report-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('takes a fresh cgroup reading on every call', () => {
    const root = join(scratch, 'v2')
    cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
    const kit = createOomkit({ cgroupRoot: join(root, 'sys/fs/cgroup'), procRoot: join(root, 'proc'), logger: quiet, registry: new Registry() })
    expect(kit.report().container!.usageBytes).toBe(199229440)
    writeFileSync(join(root, 'sys/fs/cgroup/memory.current'), '209715200\n')
    const c = kit.report().container!
    expect(c.usageBytes).toBe(209715200)
    expect(c.workingSetBytes).toBe(209715200 - 25165824)
  })
})

describe('report history', () => {
  it('is bounded by historySize however many samples are taken, and keeps the newest', () => {
    const kit = kitOn('v2-limited-256m', { historySize: 5 })
    const times: number[] = []
    for (let i = 0; i < 500; i++) times.push(internals(kit).sampler.sample().t)
    const history = kit.report().history
    expect(history).toHaveLength(5)
    expect(history.map((s) => s.t)).toEqual(times.slice(-5))
    for (const s of history) {
      expect(s).toMatchObject({ workingSet: 174063616, limit: 268435456 })
      expect(Number.isInteger(s.rss) && Number.isInteger(s.heapUsed) && Number.isInteger(s.t)).toBe(true)
    }
  })

  it('keeps the default of 120 entries', () => {
    const kit = kitOn('v2-unlimited')
    for (let i = 0; i < 300; i++) internals(kit).sampler.sample()
    const history = kit.report().history
    expect(history).toHaveLength(120)
    expect(history.every((s) => s.limit === null && s.workingSet === 174063616)).toBe(true)
  })

  it('samples without a memory cgroup have null container fields', () => {
    const kit = kitOn('no-cgroupfs', { historySize: 3 })
    for (let i = 0; i < 10; i++) internals(kit).sampler.sample()
    expect(kit.report().history).toHaveLength(3)
    expect(kit.report().history.every((s) => s.workingSet === null && s.limit === null)).toBe(true)
  })
})
