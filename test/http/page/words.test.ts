import { Registry } from 'prom-client'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import type { ReportSections } from '../../../src/capability.js'
import { budgetWords, crashWords, snapshotWords, trendWords } from '../../../src/http/page/index.js'
import { createOomkit } from '../../../src/index.js'
import { internals } from '../../../src/internal.js'
import { checkBudget } from '../../../src/memory/budget.js'
import { roots } from '../../fixtures/cgroup/expected.js'
import { MiB, type PageKit, deadPid, leaveDeadRun, pageKit } from './helpers.js'

type Trend = NonNullable<ReportSections['trend']>
type Snapshot = NonNullable<ReportSections['snapshot']>

const kits: PageKit[] = []
afterAll(async () => {
  await Promise.all(kits.map((k) => k.close()))
})

function started(): PageKit {
  const k = pageKit()
  kits.push(k)
  k.kit.start()
  return k
}

const flat = { bytesPerSecond: 0, growing: false, points: 40, spanSeconds: 600, latestBytes: 100 * MiB }

/** A trend section as the detector would give it; each edge case overrides a few fields. */
function trend(over: Partial<Trend> = {}): Trend {
  return {
    growthBytesPerSecond: 0,
    leakSuspected: false,
    suspectedSince: null,
    growing: null,
    secondsToLimit: null,
    limit: null,
    forecasts: {},
    signals: { heap: flat, external: flat, native: flat, workingSet: flat },
    growingSites: [],
    evidenceSeconds: 300,
    boundedBytes: 0,
    watchdog: { fast: false, intervalMs: 5000 },
    ...over,
  }
}

describe('trendWords', () => {
  it('a real kit whose working set climbs: growing, the container limit and when', async () => {
    const k = started()
    await k.grow(72)
    const t = k.kit.report().trend!
    const w = trendWords(t)
    expect(t.limit).toBe('container')
    expect(w.headline).toMatch(
      /^Growing \d+(\.\d)? MB\/min .*; at this rate the container limit is reached \(the kernel kills the process: exit 137\) in \d+ min\.$/,
    )
    // The minutes said are the forecast's, the rate that of what grows (the working set when no one kind does on its own).
    expect(Number(/in (\d+) min\.$/.exec(w.headline)![1])).toBe(Math.round(t.secondsToLimit! / 60))
    const rate = (t.signals[t.growing ?? 'workingSet'].bytesPerSecond! * 60) / 1e6
    expect(w.headline).toContain(`Growing ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} MB/min`)
    const leak = t.leakSuspected
      ? `A leak is suspected since ${t.suspectedSince}: the growth has been sustained beyond noise.`
      : t.growing === null
        ? 'No one kind of memory (V8 heap, external, native) grows beyond noise on its own: no leak suspicion.'
        : 'Not (yet) a leak suspicion: the detector asks for 5 min of sustained growth before it raises one.'
    expect(w.details).toContain(leak)
    expect(w.level).toBe('bad')
  })

  it('a real kit with a flat working set: nothing is growing', () => {
    const k = pageKit()
    kits.push(k)
    k.kit.start()
    // The fixture's working set stays where it is: samples 5 s apart for two minutes.
    for (let i = 0; i < 24; i++) {
      k.now += 5000
      internals(k.kit).tick()
    }
    const w = trendWords(k.kit.report().trend)
    expect(w.headline).toMatch(/^Nothing is growing/)
    expect(w.level).toBe('ok')
  })

  it('the trend off says so', () => {
    expect(trendWords(null)).toEqual({ level: 'off', headline: expect.stringMatching(/^The trend is off \(trend: false\)/) as unknown, details: [] })
  })

  it('nothing growing, over a known window, and too few GCs for the live set', () => {
    const w = trendWords(trend({ signals: { heap: { ...flat, points: 2 }, external: flat, native: flat, workingSet: flat } }))
    expect(w.headline).toBe('Nothing is growing: no kind of memory grew beyond noise over the last 10 min.')
    expect(w.details).toEqual(['The V8 live set has been measured after 2 major GCs so far; its trend needs 4.'])
  })

  it("the heap limit first: V8's heap runs out (exit 134), and the container's forecast is named too", () => {
    const heap = { ...flat, growing: true, bytesPerSecond: 52_000 }
    const w = trendWords(
      trend({ growing: 'heap', limit: 'heap', secondsToLimit: 2820, forecasts: { heap: 2820, container: 9000 }, signals: { ...trend().signals, heap } }),
    )
    expect(w.headline).toBe(
      "Growing 3.1 MB/min in the V8 heap (JavaScript objects); at this rate V8's heap limit is reached (JavaScript heap out of memory: exit 134) in 47 min.",
    )
    expect(w.details[0]).toBe('At this rate the container limit is reached in 150 min.')
    expect(w.details[1]).toBe('Not (yet) a leak suspicion: the detector asks for 5 min of sustained growth before it raises one.')
  })

  it('the working set grows towards the container limit while no one kind does on its own: the forecast, no leak suspicion', () => {
    const workingSet = { ...flat, growing: true, bytesPerSecond: 115_000 }
    const w = trendWords(trend({ limit: 'container', secondsToLimit: 450, forecasts: { container: 450 }, signals: { ...trend().signals, workingSet } }))
    expect(w.headline).toBe(
      'Growing 6.9 MB/min in the working set (what the kernel charges the container); at this rate the container limit is reached (the kernel kills the process: exit 137) in 8 min.',
    )
    expect(w.details).toEqual(['No one kind of memory (V8 heap, external, native) grows beyond noise on its own: no leak suspicion.'])
    expect(w.level).toBe('bad')
  })

  it('growing with no limit in reach (no container limit, far from the heap limit)', () => {
    const external = { ...flat, growing: true, bytesPerSecond: 20_000 }
    const w = trendWords(
      trend({ growing: 'external', signals: { ...trend().signals, external }, boundedBytes: 3 * MiB, watchdog: { fast: true, intervalMs: 500 } }),
    )
    expect(w.headline).toBe('Growing 1.2 MB/min in external memory (Buffers and ArrayBuffers).')
    expect(w.details).toContain('No limit is in reach at this rate.')
    expect(w.details).toContain('3.0 MiB held by bounded caches is not counted as growth.')
    expect(w.details).toContain('The watchdog samples every 500 ms while a limit is near.')
    expect(w.level).toBe('warn')
  })
})

describe('budgetWords', () => {
  const quiet = pino({ level: 'silent' })
  const budgetOn = (fixture: string) => createOomkit({ ...roots(fixture), logger: quiet, registry: new Registry() }).budget

  it('a real kit in 256 MiB with a bigger heap limit: exceeds, and the exact flag to set', () => {
    const b = budgetOn('v2-limited-256m')
    const w = budgetWords(b)
    expect(b.verdict).toBe('heap-limit-exceeds-container')
    expect(w).toMatchObject({ level: 'bad', headline: "V8's heap limit exceeds the container limit", details: [b.message] })
    expect(w.flag).toBe(`NODE_OPTIONS=${b.recommendedFlag}`)
    expect(w.flag).toMatch(/^NODE_OPTIONS=--max-old-space-size(-percentage)?=\d+$/)
  })

  it('a real kit with no container limit, and one without a memory cgroup: no flag', () => {
    expect(budgetWords(budgetOn('v2-unlimited'))).toMatchObject({ verdict: 'no-container-limit', level: 'warn', flag: null })
    expect(budgetWords(budgetOn('no-cgroupfs'))).toMatchObject({ verdict: 'unknown', level: 'info', flag: null })
  })

  it('fits, and far below', () => {
    const container = createOomkit({ ...roots('v2-limited-256m'), logger: quiet, registry: new Registry() }).report().container!
    const ok = checkBudget(180 * MiB, container, 0.75, { percentage: false })
    expect(budgetWords(ok)).toMatchObject({ verdict: 'ok', level: 'ok', flag: 'NODE_OPTIONS=--max-old-space-size=192' })
    const far = checkBudget(100 * MiB, { ...container, limitBytes: 1024 * MiB }, 0.75, { percentage: true })
    expect(budgetWords(far)).toMatchObject({
      verdict: 'heap-limit-far-below-container',
      level: 'warn',
      flag: 'NODE_OPTIONS=--max-old-space-size-percentage=75',
    })
  })
})

describe('crashWords', () => {
  it('a real previous crash from a dead run’s marker: the cause, the pid, the evidence', () => {
    const k = pageKit()
    kits.push(k)
    const pid = deadPid()
    leaveDeadRun(k.diagnosticsDir, pid)
    k.kit.start()
    const c = k.kit.report().previousCrash
    const w = crashWords(c)
    expect(w.level).toBe('bad')
    expect(w.headline).toMatch(new RegExp(`^The previous instance \\(pid ${pid}, started \\S+\\) was killed at the container memory limit \\(OOM kill\\)`))
    expect(w.details).toEqual(c!.evidence)
    expect(w.details).toContain('last utilization written: 0.970')
  })

  it('none', () => {
    expect(crashWords(null)).toMatchObject({ level: 'ok', headline: expect.stringMatching(/^No previous crash recorded/) as unknown })
  })
})

describe('snapshotWords', () => {
  const base: Snapshot = {
    enabled: true,
    possible: true,
    reason: null,
    neededBytes: 300 * MiB,
    headroomBytes: 900 * MiB,
    cooldownRemainingMs: 0,
    inProgress: false,
    lastSnapshotAt: null,
    dir: '/tmp/oomkit/snapshots',
    dirOnTmpfs: false,
  }

  it('off, possible, refused for headroom, cooling down, in progress, another reason', () => {
    expect(snapshotWords(null)).toMatchObject({ level: 'off', headline: 'Heap snapshots are off (snapshot: false).' })
    expect(snapshotWords(base)).toEqual({
      level: 'ok',
      headline: 'A heap snapshot is possible now.',
      details: ['It needs about 300.0 MiB; the headroom is 900.0 MiB.'],
    })
    const refused = snapshotWords({ ...base, possible: false, reason: 'OOMKIT_INSUFFICIENT_HEADROOM', headroomBytes: 50 * MiB })
    expect(refused.headline).toBe('Refused now: taking a snapshot could get the process OOM-killed.')
    expect(refused.details).toEqual([
      'It needs about 300.0 MiB; the headroom is 50.0 MiB.',
      'The heap profile above costs a fraction of it; ?force=1 takes the snapshot anyway.',
    ])
    expect(snapshotWords({ ...base, possible: false, reason: 'OOMKIT_SNAPSHOT_COOLDOWN', cooldownRemainingMs: 42_000 }).headline).toBe(
      'Cooling down: the next snapshot is possible in 42 s.',
    )
    expect(snapshotWords({ ...base, possible: false, inProgress: true, reason: 'OOMKIT_SNAPSHOT_IN_PROGRESS' }).headline).toBe(
      'A heap snapshot is being taken now.',
    )
    const tmpfs = snapshotWords({ ...base, possible: false, reason: 'OOMKIT_SNAPSHOT_DIR_TMPFS' })
    expect(tmpfs.headline).toBe('Refused now (OOMKIT_SNAPSHOT_DIR_TMPFS).')
    expect(tmpfs.details[0]).toMatch(/tmpfs/)
  })
})
