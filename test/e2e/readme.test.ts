// Keeps the README's tables honest: every code, variable, option, endpoint and metric the code
// has is in the README, and the README lists nothing the code lacks.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, ENV_VARS, ERROR_CODES, createOomkit } from '../../src/index.js'
import { internals } from '../../src/internal.js'
import { collectorMetricNames } from '../../src/metrics/index.js'

const root = join(import.meta.dirname, '..', '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** Rows of the first markdown table after the heading that matches. */
function tableAfter(heading: RegExp): string[][] {
  const lines = readme.split('\n')
  const start = lines.findIndex((l) => heading.test(l))
  expect(start, `heading ${heading} in README`).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  let inTable = false
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('|')) {
      inTable = true
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      )
    } else if (inTable) break
  }
  return rows.slice(2) // header and separator
}

const code = (cell: string | undefined): string => (cell ?? '').replace(/`/g, '').trim()

describe('README tables', () => {
  it('lists every error code with its HTTP status, and no others', () => {
    const rows = tableAfter(/^## Error codes/)
    const documented = new Map(rows.map((r) => [code(r[0]), r[1]]))
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort())
    for (const [name, def] of Object.entries(ERROR_CODES)) {
      expect(documented.get(name), name).toBe(def.status === null ? '—' : String(def.status))
    }
  })

  it('lists every environment variable oomkit/register reads, and no others', () => {
    const rows = tableAfter(/^## Environment variables/)
    expect(rows.map((r) => code(r[0])).sort()).toEqual(Object.keys(ENV_VARS).sort())
  })

  it('lists every option of createOomkit, and no others', () => {
    const rows = tableAfter(/^## Options/)
    expect(rows.map((r) => code(r[0])).sort()).toEqual(['logger', 'registry', ...Object.keys(DEFAULTS)].sort())
    // Numeric defaults in the table are the real ones.
    for (const r of rows) {
      const value = (DEFAULTS as Record<string, unknown>)[code(r[0])]
      if (typeof value === 'number' || typeof value === 'boolean') expect(code(r[1]), code(r[0])).toBe(String(value))
    }
  })

  it('lists every route the kit serves, and no others', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry(), logIntervalMs: 0 })
    const rows = tableAfter(/^### Debug endpoints/)
    const documented = rows.map((r) => /`([^`?]+)/.exec(r[0] ?? '')?.[1]).sort()
    expect(documented).toEqual(
      internals(kit)
        .routes.map((r) => r.path)
        .sort(),
    )
    for (const route of internals(kit).routes) {
      const row = rows.find((r) => (r[0] ?? '').includes(`\`${route.path}`))
      for (const m of route.methods) expect(row?.[0], `${route.path} ${m}`).toContain(m)
    }
  })

  it('lists exactly the metric names every collector declares (read from the collectors, no scrape)', () => {
    const kit = createOomkit({ logger: pino({ level: 'silent' }), registry: new Registry() })
    const declared = new Set([
      'oomkit_collector_errors_total',
      ...internals(kit)
        .collectors()
        .flatMap((c) => collectorMetricNames(c)),
    ])
    const documented = new Set(tableAfter(/^### Metrics/).map((r) => code(r[0])))
    expect([...documented].sort()).toEqual([...declared].sort())
  })

  it('lists every oomkit_ metric a scrape can show, and each listed one shows up', async () => {
    const fixture = join(root, 'test', 'fixtures', 'cgroup', 'v2-limited-256m')
    const registry = new Registry()
    const kit = createOomkit({
      logger: pino({ level: 'silent' }),
      registry,
      logIntervalMs: 0,
      cgroupRoot: join(fixture, 'sys', 'fs', 'cgroup'),
      procRoot: join(fixture, 'proc'),
    }).start()
    try {
      globalThis.gc?.()
      await new Promise((r) => setTimeout(r, 50))
      const text = await registry.metrics()
      const scraped = new Set([...text.matchAll(/^# TYPE (oomkit_\w+) /gm)].map((m) => m[1]))
      const rows = tableAfter(/^### Metrics/)
      const documented = new Set(rows.map((r) => code(r[0])))
      expect([...documented].sort()).toEqual([...scraped].sort())
      for (const r of rows) {
        const type = (/^# TYPE (\S+) (\w+)/m.exec(text.slice(text.indexOf(`# TYPE ${code(r[0])} `))) ?? [])[2]
        expect(type, code(r[0])).toBe(r[1])
      }
    } finally {
      await kit.stop()
    }
  })
})
