import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_VERTICES, PAGE_CSP, type PageReport, renderPage } from '../../../src/http/page/index.js'
import type { Sample } from '../../../src/memory/sampler.js'
import { MiB, type PageKit, pageKit } from './helpers.js'

const H = '</td><script>alert(1)</script>'
const ESCAPED = '&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;'
const OPTIONS = { warnRatio: 0.85, criticalRatio: 0.95, refreshSeconds: 10 }

let k: PageKit
let base: PageReport
beforeAll(async () => {
  k = pageKit({ leaks: { sockets: false } })
  k.kit.start()
  await k.grow(30)
  base = k.kit.report()
})
afterAll(() => k.close())

/** Vertices per data-series in a page. */
function vertexCounts(html: string): Record<string, number> {
  return Object.fromEntries([...html.matchAll(/data-series="([^"]+)" d="([^"]*)"/g)].map((m) => [m[1], (m[2]!.match(/[ML]/g) ?? []).length]))
}

const site = { function: H, file: `/app/${H}.js`, line: 7 }

/** The real report with an app's hostile string in every string field the page shows. */
function hostile(): PageReport {
  const lease = {
    reason: 'held',
    kind: H,
    pool: H,
    ageMs: 40_000,
    holdThresholdMs: 30_000,
    acquiredAt: base.timestamp,
    site: { ...site, column: 3 },
    stack: [H],
    via: [],
  } as const
  const pool = {
    name: H,
    kind: 'pg',
    via: H,
    holdThresholdMs: 30_000,
    open: 1,
    acquired: 1,
    released: 0,
    leaks: 1,
    acquireTimeouts: 0,
    acquireWait: { count: 0, sumSeconds: 0 },
    size: 1,
    idle: 0,
    waiting: 0,
    max: 10,
  } as const
  return {
    ...base,
    container: { ...base.container!, cgroupPath: H },
    budget: { ...base.budget, message: H, recommendedFlag: H },
    profile: { ...base.profile!, topSites: [{ ...site, bytes: 9 * MiB, count: 3 }] },
    trend: { ...base.trend!, growing: 'heap', growingSites: [{ ...site, bytes: 9 * MiB, growthBytesPerSecond: 1000 }] },
    snapshot: { ...base.snapshot!, possible: false, reason: H },
    caches: {
      count: 1,
      bytes: 10,
      heapUsedBytes: 100,
      heapShare: 0.1,
      caches: [
        {
          name: H,
          scope: 'kit',
          ttlMs: null,
          maxBytesShare: null,
          hits: 1,
          misses: 1,
          hitRatio: 0.5,
          sets: 1,
          evictions: { capacity: 2, expired: 0, replaced: 0, deleted: 1 },
          entries: 1,
          bytes: 10,
          bytesSampled: false,
          maxEntries: 5,
          maxBytes: null,
          heapShare: 0.1,
        },
      ],
    },
    leaks: { ...base.leaks!, leaked: 1, leases: [lease, { ...lease, site: null }], pools: [pool] },
    previousCrash: {
      cause: 'container',
      pid: 1,
      startedAt: H,
      diedAt: H,
      diedAtBasis: 'last-seen',
      workingSetBytes: 1,
      limitBytes: 2,
      utilization: 0.5,
      heapUsedBytes: 1,
      heapLimitBytes: 2,
      growthBytesPerSecond: 1,
      growth: { workingSetBytesPerSecond: 1, liveSetBytesPerSecond: 1 },
      growingSites: [{ ...site, bytes: 1, growthBytesPerSecond: 1 }],
      topSites: [],
      oomKills: { recorded: null, now: null },
      fatalReport: null,
      lastWords: 0,
      evidence: [H],
      dir: H,
      files: [H],
    },
  }
}

describe('renderPage', () => {
  it('escapes every string the report brings: no markup of the app survives', () => {
    const html = renderPage(hostile(), OPTIONS)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toContain(H)
    // Site tables, growing sites, caches, leases (kind, pool, site, stack), pools, crash, budget, snapshot, cgroup path.
    expect(html.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(15)
    expect(html).toContain(`<code class="flag" data-flag>NODE_OPTIONS=${ESCAPED}</code>`)
  })

  it('the CSP hash is the one of the page’s <style> text, and nothing else styles the page', () => {
    const html = renderPage(base, OPTIONS)
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)]
    expect(styles).toHaveLength(1)
    const hash = createHash('sha256').update(styles[0]![1]!, 'utf8').digest('base64')
    expect(PAGE_CSP).toContain(`style-src 'sha256-${hash}'`)
    expect(html).not.toMatch(/\sstyle=/)
    expect(html).not.toMatch(/<script|\son\w+=/i)
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
  })

  it('links relatively, so a prefix (app.use("/ops", ...)) keeps them working', () => {
    const html = renderPage(base, OPTIONS)
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1])
    expect(hrefs).toEqual(expect.arrayContaining(['pprof/heap', 'heap', 'memory/top?limit=50', 'leaks']))
    for (const href of hrefs) expect(href, href).toMatch(/^(data:|[a-z])/)
  })

  it('reloads through a meta refresh, or not at all with 0', () => {
    expect(renderPage(base, OPTIONS)).toContain('<meta http-equiv="refresh" content="10">')
    expect(renderPage(base, { ...OPTIONS, refreshSeconds: 0 })).not.toContain('http-equiv="refresh"')
  })

  it('says "off" for every capability that is off, and renders without a memory cgroup', () => {
    const off: PageReport = {
      ...base,
      history: base.history.map((s) => ({ ...s, workingSet: null, limit: null })),
      container: null,
      profile: null,
      snapshot: null,
      trend: null,
      previousCrash: null,
      leaks: null,
      caches: null,
      pyroscope: null,
    }
    const html = renderPage(off, OPTIONS)
    for (const text of [
      'The trend is off (trend: false)',
      'The heap profile is off (heapProfile: false)',
      'Heap snapshots are off (snapshot: false)',
      'Leak tracking is off (leaks: false)',
      'Cache reporting is off (caches: false)',
      'No memory cgroup here',
      'No previous crash recorded',
    ]) {
      expect(html, text).toContain(text)
    }
    expect(html).not.toContain('href="pprof/heap"')
    expect(html).not.toContain('href="heap"')
    // Without a cgroup the working set has no values: no vertex, no limit line.
    expect(vertexCounts(html).workingSet).toBe(0)
    expect(html).not.toContain('data-line="limit"')
  })

  it('no container limit: says so and draws no limit, warn or critical line', () => {
    const noLimit: PageReport = {
      ...base,
      container: { ...base.container!, limitBytes: null, utilization: null },
      history: base.history.map((s) => ({ ...s, limit: null })),
    }
    const html = renderPage(noLimit, OPTIONS)
    expect(html).toContain('No container memory limit: no limit, warn or critical line to draw.')
    expect(html).not.toMatch(/data-line="(limit|warn|critical)"/)
  })

  it('draws one vertex per sample with a value, and limits each series to 600 for the longest history', () => {
    const counts = vertexCounts(renderPage(base, OPTIONS))
    for (const name of ['workingSet', 'heapUsed', 'heapTotal', 'liveAfterGc', 'external', 'arrayBuffers', 'rss'] as const) {
      expect(counts[name], name).toBe(base.history.filter((s) => s[name] !== null).length)
    }
    const t0 = Date.parse(base.timestamp) - 10_000 * 5000
    const history: Sample[] = Array.from({ length: 10_000 }, (_, i) => ({ ...base.history[0]!, t: t0 + i * 5000, liveAfterGc: i < 100 ? null : 1e7 + i }))
    const html = renderPage({ ...base, history }, OPTIONS)
    const long = vertexCounts(html)
    expect(long.workingSet).toBe(MAX_VERTICES)
    // 100 null samples are the first 6 buckets of ~16.7 samples: those are a gap.
    expect(long.liveAfterGc).toBe(MAX_VERTICES - 6)
    // Bounded: the page stays small whatever the history.
    expect(html.length).toBeLessThan(300_000)
  })
})
