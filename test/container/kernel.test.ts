import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { locateMemoryCgroup, readKernelSignals } from '../../src/container/index.js'
import { createOomkit } from '../../src/index.js'
import { capture } from '../heap/snapshot/helpers.js'
import { fixture } from '../fixtures/cgroup/expected.js'

const signals = (name: string): ReturnType<typeof readKernelSignals> => {
  const f = fixture(name)
  return readKernelSignals(locateMemoryCgroup(f.procRoot, f.cgroupRoot)!)
}

describe("the kernel's early signals", () => {
  it('reads v2 memory.events and memory.peak (values from the fixture files)', () => {
    expect(signals('v2-limited-256m')).toEqual({ events: { low: 0, high: 0, max: 37, oom: 1, oomKill: 1 }, peakBytes: 230686720, failcnt: null })
  })

  it('reads v1 memory.failcnt and memory.max_usage_in_bytes', () => {
    expect(signals('v1-limited-256m')).toEqual({ events: null, peakBytes: 138620928, failcnt: 0 })
  })

  it('says null for what a tree does not have, never 0', () => {
    expect(signals('v2-missing-files')).toEqual({ events: null, peakBytes: null, failcnt: null })
    expect(signals('v2-garbage')).toEqual({ events: null, peakBytes: null, failcnt: null })
    expect(signals('v1-unlimited')).toEqual({ events: null, peakBytes: null, failcnt: null })
  })

  it("serves them as metrics and in the report's container section", async () => {
    const f = fixture('v2-limited-256m')
    const registry = new Registry()
    const kit = createOomkit({
      registry,
      logger: capture().logger,
      cgroupRoot: f.cgroupRoot,
      procRoot: f.procRoot,
      logIntervalMs: 0,
      defaultMetrics: false,
    }).start()
    try {
      const text = await registry.metrics()
      for (const [event, v] of [
        ['high', 0],
        ['max', 37],
        ['oom', 1],
        ['oom_kill', 1],
      ] as const) {
        expect(text).toContain(`oomkit_container_memory_events_total{event="${event}"} ${v}`)
      }
      expect(text).toMatch(/^oomkit_container_memory_peak_bytes 230686720$/m)
      expect(text).not.toMatch(/^oomkit_container_memory_failcnt_total /m)
      expect(kit.report().container?.kernel).toEqual({ events: { low: 0, high: 0, max: 37, oom: 1, oomKill: 1 }, peakBytes: 230686720, failcnt: null })
    } finally {
      await kit.stop()
    }
  })
})

describe('the watchdog', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-watchdog-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('samples fast above warnRatio, keeps the history at the normal spacing, and slows down once the episode ends', async () => {
    const root = join(scratch, 'v2')
    cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
    const current = join(root, 'sys/fs/cgroup/memory.current')
    // inactive_file is 25165824 in the fixture; the limit 268435456.
    const setRatio = (r: number): void => writeFileSync(current, `${Math.round(268435456 * r) + 25165824}\n`)
    setRatio(0.5)
    const { logger, lines } = capture()
    const kit = createOomkit({
      registry: new Registry(),
      logger,
      cgroupRoot: join(root, 'sys/fs/cgroup'),
      procRoot: join(root, 'proc'),
      logIntervalMs: 0,
      sampleIntervalMs: 1000,
      fastSampleIntervalMs: 50,
    }).start()
    try {
      await new Promise((r) => setTimeout(r, 1100))
      const slow = kit.report().history.length
      setRatio(0.9)
      await new Promise((r) => setTimeout(r, 1200))
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'oomkit samples fast: memory is near a limit', intervalMs: 50, reasons: ['threshold'] }))
      const fastHistory = kit.report().history
      // ~24 fast samples in 1.2 s, but the history grew by one entry a second at most.
      expect(fastHistory.length - slow).toBeLessThanOrEqual(2)
      for (let i = 1; i < fastHistory.length; i++) expect(fastHistory[i]!.t - fastHistory[i - 1]!.t).toBeGreaterThanOrEqual(1000 - 60)
      // Hysteresis: 0.84 is within 2 points of warnRatio 0.85: still the same episode, still fast.
      setRatio(0.84)
      await new Promise((r) => setTimeout(r, 200))
      expect(lines.filter((l) => l.msg === 'oomkit samples at its normal interval again')).toEqual([])
      setRatio(0.5)
      await new Promise((r) => setTimeout(r, 200))
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'oomkit samples at its normal interval again', intervalMs: 1000 }))
      expect(lines.filter((l) => l.msg?.toString().startsWith('memory high')).length).toBe(1)
    } finally {
      await kit.stop()
    }
  })
})
