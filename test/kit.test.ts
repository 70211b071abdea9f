import { createHook } from 'node:async_hooks'
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import perfHooks from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { type OomkitError, createOomkit } from '../src/index.js'
import { type MemoryLogFields, thresholdLogger } from '../src/logging/memory-log.js'
import { ThresholdWatch } from '../src/memory/threshold.js'
import { fixture, roots } from './fixtures/cgroup/expected.js'
import { internals } from '../src/internal.js'
import { type LogLine as Line, captureLog } from './helpers/logs.js'
import { sleep, tick } from './helpers/time.js'
import { heapFlagSupport } from '../src/memory/budget.js'

const capture = captureLog

const WARN = 40
const INFO = 30
const ERROR = 50
const gc = (globalThis as { gc?: () => void }).gc!

describe('lifecycle', () => {
  it('start returns the instance, is a no-op when running, and stop is idempotent', async () => {
    const { logger, lines } = capture()
    const kit = createOomkit({ ...roots('v2-unlimited'), logger, registry: new Registry() })
    expect(kit.running).toBe(false)
    expect(kit.start()).toBe(kit)
    expect(kit.running).toBe(true)
    expect(kit.start()).toBe(kit)
    expect(lines.filter((l) => l.verdict !== undefined)).toHaveLength(1)
    await kit.stop()
    expect(kit.running).toBe(false)
    await expect(kit.stop()).resolves.toBeUndefined()
    expect(kit.running).toBe(false)
  })

  it('refuses to start after stop with OOMKIT_STOPPED', async () => {
    const kit = createOomkit({ ...roots('v2-unlimited'), logger: capture().logger, registry: new Registry() }).start()
    await kit.stop()
    expect(() => kit.start()).toThrow(expect.objectContaining({ code: 'OOMKIT_STOPPED', name: 'OomkitError' }) as OomkitError)
    expect(kit.running).toBe(false)
  })

  it('can be stopped without being started, and then not started', async () => {
    const registry = new Registry()
    const kit = createOomkit({ ...roots('v2-unlimited'), logger: capture().logger, registry })
    await kit.stop()
    expect(() => kit.start()).toThrow(/stopped/)
    expect(registry.getMetricsAsArray()).toEqual([])
  })

  it('does nothing before start: no metrics, no log lines', () => {
    const registry = new Registry()
    const { logger, lines } = capture()
    createOomkit({ ...roots('v2-limited-256m'), logger, registry })
    expect(registry.getMetricsAsArray()).toEqual([])
    expect(lines).toEqual([])
  })

  it('takes every oomkit metric out of the registry at stop', async () => {
    const registry = new Registry()
    const kit = createOomkit({ ...roots('v2-limited-256m'), logger: capture().logger, registry, defaultMetrics: false }).start()
    expect(registry.getMetricsAsArray().length).toBeGreaterThan(10)
    await registry.metrics()
    await kit.stop()
    expect(registry.getMetricsAsArray()).toEqual([])
  })

  it('stops observing GC at stop', async () => {
    const kit = createOomkit({ ...roots('v2-unlimited'), logger: capture().logger, registry: new Registry(), defaultMetrics: false }).start()
    gc()
    const deadline = Date.now() + 2000
    while (kit.report().v8.majorGcCount === 0 && Date.now() < deadline) await tick()
    const seen = kit.report().v8.majorGcCount
    expect(seen).toBeGreaterThan(0)
    await kit.stop()
    gc()
    await sleep(20)
    expect(kit.report().v8.majorGcCount).toBe(seen)
  })
})

/** Names in `after` beyond those in `before`, as a multiset difference. */
function extra(before: string[], after: string[]): string[] {
  const left = [...before]
  return after.filter((r) => {
    const i = left.indexOf(r)
    if (i < 0) return true
    left.splice(i, 1)
    return false
  })
}

/**
 * Active resources beyond `before`, once transient ones (the test runner's own I/O, a close in
 * flight) had a chance to finish: looks again a few times before reporting a difference.
 */
async function leftovers(before: string[]): Promise<string[]> {
  let diff: string[] = []
  for (let attempt = 0; attempt < 10; attempt++) {
    await tick()
    await sleep(5)
    diff = extra(before, process.getActiveResourcesInfo())
    if (diff.length === 0) return diff
  }
  return diff
}

describe('what stop() leaves behind', () => {
  it('no active resource: getActiveResourcesInfo() has nothing more than before createOomkit (while running either)', async () => {
    await tick()
    await sleep(5)
    const before = process.getActiveResourcesInfo()
    const registry = new Registry()
    const kit = createOomkit({ ...roots('v2-limited-256m'), logger: capture().logger, registry, sampleIntervalMs: 100, logIntervalMs: 1000 })
    kit.start()
    await registry.metrics()
    internals(kit).sampler.sample()
    kit.logMemory()
    kit.report()
    // Every timer is unref'd: nothing oomkit holds keeps the process alive even while running.
    expect(await leftovers(before)).toEqual([])
    await sleep(250) // a couple of sample ticks
    await kit.stop()
    expect(await leftovers(before)).toEqual([])
  })

  it("no timer of oomkit's own survives stop, unref'd or not (async_hooks)", async () => {
    const srcDir = fileURLToPath(new URL('../src/', import.meta.url))
    const alive = new Map<number, string>()
    const hook = createHook({
      init(asyncId, type) {
        if (type !== 'Timeout' && type !== 'Immediate') return
        const stack = new Error().stack ?? ''
        if (stack.includes(srcDir)) alive.set(asyncId, `${type} ${stack.split('\n').slice(2, 5).join(' <')}`)
      },
      destroy(asyncId) {
        alive.delete(asyncId)
      },
    })
    hook.enable()
    try {
      const registry = new Registry()
      const kit = createOomkit({ ...roots('v2-limited-256m'), logger: capture().logger, registry, sampleIntervalMs: 100, logIntervalMs: 1000 }).start()
      await registry.metrics()
      expect(alive.size).toBeGreaterThanOrEqual(2) // the sample and log intervals, seen by the hook
      await sleep(150)
      await kit.stop()
      // Destroy hooks run asynchronously after clearInterval.
      await sleep(20)
      expect([...alive.values()]).toEqual([])
    } finally {
      hook.disable()
    }
  })

  // prom-client's collectDefaultMetrics enables a monitorEventLoopDelay histogram and a GC
  // PerformanceObserver and returns no handle to stop either. oomkit therefore registers the
  // defaults once per registry and leaves them (they are the app's metrics as much as oomkit's):
  // start/stop cycles must never pile up monitors. The spy passes every call through.
  it("start/stop cycles register prom-client's defaults (and their event-loop monitor) once per registry, never more", async () => {
    const spy = vi.spyOn(perfHooks, 'monitorEventLoopDelay')
    try {
      const registry = new Registry()
      for (let i = 0; i < 3; i++) {
        const kit = createOomkit({ ...roots('v2-limited-256m'), logger: capture().logger, registry }).start()
        await registry.metrics()
        await kit.stop()
      }
      expect(spy).toHaveBeenCalledTimes(1)
      // With defaultMetrics: false, none at all.
      spy.mockClear()
      const kit = createOomkit({ ...roots('v2-limited-256m'), logger: capture().logger, registry: new Registry(), defaultMetrics: false }).start()
      await kit.stop()
      expect(spy).not.toHaveBeenCalled()
    } finally {
      spy.mockRestore()
    }
  })

  it('a process that starts a kit and does nothing else exits by itself', async () => {
    const dist = fileURLToPath(new URL('../dist/src/index.js', import.meta.url))
    const f = fixture('v2-limited-256m')
    const code = `
      const { createOomkit } = await import(${JSON.stringify(dist)})
      const noop = () => {}
      createOomkit({ cgroupRoot: ${JSON.stringify(f.cgroupRoot)}, procRoot: ${JSON.stringify(f.procRoot)},
        logger: { info: noop, warn: noop, error: noop, debug: noop }, sampleIntervalMs: 100, logIntervalMs: 1000 }).start()
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exit = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve('still running after 10 s: something oomkit started keeps the event loop alive')
      }, 10_000)
      child.once('exit', (status) => {
        clearTimeout(timer)
        resolve(status ?? -1)
      })
    })
    expect(exit, stderr).toBe(0)
  })
})

describe('budget line at start', () => {
  it("is a warn naming NODE_OPTIONS when V8's heap limit exceeds the container limit", () => {
    const heapLimit = getHeapStatistics().heap_size_limit
    // The fixture's 256 MiB must be below this process's heap limit for the case to apply.
    expect(heapLimit).toBeGreaterThan(268435456)
    const { logger, lines } = capture()
    createOomkit({ ...roots('v2-limited-256m'), logger, registry: new Registry() }).start()
    const budget = lines.filter((l) => l.verdict !== undefined)
    expect(budget).toHaveLength(1)
    expect(budget[0]).toMatchObject({
      level: WARN,
      verdict: 'heap-limit-exceeds-container',
      heapLimit,
      limit: 268435456,
      recommendedMaxOldSpaceSizeMb: 192,
    })
    expect(budget[0]!.msg).toContain('exceeds the container limit 256 MiB')
    // Node 22.21+ and 24 take --max-old-space-size-percentage, and the advice names it first; the MiB value is always there.
    expect(budget[0]!.msg).toContain(`NODE_OPTIONS=${heapFlagSupport().percentage ? '--max-old-space-size-percentage=75' : '--max-old-space-size=192'}`)
    expect(budget[0]!.msg).toContain('--max-old-space-size=192')
  })

  it.each([
    ['v2-unlimited', 'no-container-limit'],
    ['no-cgroupfs', 'unknown'],
  ])('is an info line on %s (%s)', (name, verdict) => {
    const { logger, lines } = capture()
    createOomkit({ ...roots(name), logger, registry: new Registry() }).start()
    const budget = lines.filter((l) => l.verdict !== undefined)
    expect(budget).toHaveLength(1)
    expect(budget[0]).toMatchObject({ level: INFO, verdict })
    expect(budget[0]!.msg).not.toContain('NODE_OPTIONS')
  })
})

describe('periodic "memory" line', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('comes every logIntervalMs at info, with numbers in bytes, and stops with the kit', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const { logger, lines } = capture()
    const kit = createOomkit({ ...roots('v2-limited-256m'), logger, registry: new Registry(), logIntervalMs: 1000, sampleIntervalMs: 60_000 }).start()
    const memoryLines = (): Line[] => lines.filter((l) => l.msg === 'memory')

    vi.advanceTimersByTime(999)
    expect(memoryLines()).toHaveLength(0)
    vi.advanceTimersByTime(1)
    expect(memoryLines()).toHaveLength(1)
    vi.advanceTimersByTime(3000)
    expect(memoryLines()).toHaveLength(4)

    const line = memoryLines()[0]!
    expect(line.level).toBe(INFO)
    for (const key of ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'heapLimit']) {
      expect(Number.isInteger(line[key]), key).toBe(true)
      expect(line[key] as number, key).toBeGreaterThan(0)
    }
    expect(line).toMatchObject({ workingSet: 174063616, limit: 268435456, utilization: 174063616 / 268435456, oomKills: 1 })
    expect(line.heapLimit).toBe(getHeapStatistics().heap_size_limit)

    await kit.stop()
    vi.advanceTimersByTime(5000)
    expect(memoryLines()).toHaveLength(4)
  })

  it('is off with logIntervalMs: 0', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const { logger, lines } = capture()
    const kit = createOomkit({ ...roots('v2-limited-256m'), logger, registry: new Registry(), logIntervalMs: 0 }).start()
    vi.advanceTimersByTime(120_000)
    expect(lines.filter((l) => l.msg === 'memory')).toEqual([])
    await kit.stop()
  })
})

function fields(utilization: number | null): MemoryLogFields {
  const limit = 1000
  return {
    rss: 1,
    heapUsed: 1,
    heapTotal: 1,
    external: 1,
    arrayBuffers: 1,
    liveAfterGc: null,
    heapLimit: 1,
    workingSet: utilization === null ? null : Math.round(utilization * limit),
    limit,
    utilization,
    oomKills: 0,
  }
}

describe('ThresholdWatch: warn and critical once per episode', () => {
  it('logs each crossing once, and again only after the ratio fell back below the threshold', () => {
    const { logger, lines, flushes } = capture()
    const emitted: [string, number | null][] = []
    const watch = new ThresholdWatch(0.85, 0.95).on(thresholdLogger(logger)).on((c) => emitted.push([c.level, c.fields.utilization]))
    const seen: [number | null, string[]][] = []
    for (const u of [0.5, 0.86, 0.9, 0.87, 0.5, 0.86, 0.96, 0.97, 0.9, 0.96, null, 0.5, 0.99, 0.99, 0.85, 0.84, 0.95]) {
      const n = lines.length
      watch.check(fields(u))
      seen.push([u, lines.slice(n).map((l) => `${l.level === WARN ? 'warn' : l.level === ERROR ? 'error' : l.level}`)])
    }
    expect(seen).toEqual([
      [0.5, []],
      [0.86, ['warn']],
      [0.9, []],
      [0.87, []],
      [0.5, []], // the warn episode ends
      [0.86, ['warn']],
      [0.96, ['error']],
      [0.97, []],
      [0.9, []], // below critical (its episode ends), still within the warn episode
      [0.96, ['error']],
      [null, []], // no limit known: no verdict, the episodes stand
      [0.5, []],
      [0.99, ['error']], // straight to critical: one line, not warn then error
      [0.99, []],
      [0.85, []], // >= warnRatio: still in the episode that the critical line opened
      [0.84, []],
      [0.95, ['error']], // exactly criticalRatio counts
    ])
    expect(emitted).toEqual([
      ['warn', 0.86],
      ['warn', 0.86],
      ['critical', 0.96],
      ['critical', 0.96],
      ['critical', 0.99],
      ['critical', 0.95],
    ])
    const warnLine = lines.find((l) => l.level === WARN)!
    expect(warnLine).toMatchObject({ threshold: 0.85, utilization: 0.86, workingSet: 860, limit: 1000 })
    const errorLine = lines.find((l) => l.level === ERROR)!
    expect(errorLine).toMatchObject({ threshold: 0.95, utilization: 0.96 })
    // Critical lines are flushed at once (a SIGKILL may follow); warn lines are not.
    expect(flushes()).toBe(4)
  })
})

describe('thresholds through the kit', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-kit-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))
  afterEach(() => {
    vi.useRealTimers()
  })

  it("emits warn and critical events from the sampler's readings, once per episode", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const root = join(scratch, 'v2')
    cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
    const current = join(root, 'sys/fs/cgroup/memory.current')
    // inactive_file is 25165824 in the fixture; limit 268435456.
    const setWorkingSet = (ratio: number): void => writeFileSync(current, `${Math.round(268435456 * ratio) + 25165824}\n`)
    setWorkingSet(0.9)

    const { logger, lines } = capture()
    const kit = createOomkit({
      cgroupRoot: join(root, 'sys/fs/cgroup'),
      procRoot: join(root, 'proc'),
      logger,
      registry: new Registry(),
      sampleIntervalMs: 100,
      logIntervalMs: 0,
    })
    const events: string[] = []
    kit.on('warn', () => events.push('warn'))
    kit.on('critical', () => events.push('critical'))
    kit.start()
    expect(events).toEqual(['warn']) // the first reading at start is checked too
    vi.advanceTimersByTime(500)
    expect(events).toEqual(['warn'])
    setWorkingSet(0.5)
    vi.advanceTimersByTime(100)
    setWorkingSet(0.97)
    vi.advanceTimersByTime(300)
    expect(events).toEqual(['warn', 'critical'])
    expect(lines.filter((l) => l.level === ERROR)).toHaveLength(1)
    await kit.stop()
    setWorkingSet(0.5)
    vi.advanceTimersByTime(100)
    setWorkingSet(0.99)
    vi.advanceTimersByTime(1000)
    expect(events).toEqual(['warn', 'critical'])
  })
})

describe('critical line and SIGKILL', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-sigkill-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  // An async pino destination buffers; its flush() only schedules the write. The line has to be
  // on disk before start() returns, because the OOM killer does not wait.
  it.each([
    ['buffering up to 4 KiB', 4096],
    ['writing through at once', 0],
  ])('is on disk when the process is SIGKILLed right after it, with an async destination %s', async (_how, minLength) => {
    const root = join(scratch, `tree-${minLength}`)
    cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
    // Working set 0.97 of the 256 MiB limit (inactive_file is 25165824 in the fixture).
    writeFileSync(join(root, 'sys/fs/cgroup/memory.current'), `${Math.round(268435456 * 0.97) + 25165824}\n`)
    const script = fileURLToPath(new URL('./fixtures/critical-then-sigkill.mjs', import.meta.url))

    const runs = await Promise.all(
      [0, 1, 2].map(async (run) => {
        const logFile = join(scratch, `log-${minLength}-${run}.ndjson`)
        const child = spawn(process.execPath, [script, join(root, 'sys/fs/cgroup'), join(root, 'proc'), logFile, String(minLength)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
        let stderr = ''
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        const signal = await new Promise<string | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)))
        const lines = readFileSync(logFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line)
        return { signal, stderr, critical: lines.filter((l) => l.level === ERROR), total: lines.length }
      }),
    )
    for (const r of runs) {
      expect(r.signal, r.stderr).toBe('SIGKILL')
      expect(r.critical).toHaveLength(1)
      expect(r.critical[0]!.msg).toContain('memory critical')
      expect(r.critical[0]).toMatchObject({ threshold: 0.95, limit: 268435456 })
    }
  })
})
