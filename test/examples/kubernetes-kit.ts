/**
 * Reading examples/kubernetes/ for the tests: its manifests, the PrometheusRule's groups as a plain
 * rule file for promtool and Prometheus, the dashboard's queries, and the metric names a PromQL
 * expression uses.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseAllDocuments, stringify } from 'yaml'

/** The repository's root. */
export const ROOT = join(import.meta.dirname, '..', '..')
/** The Kubernetes kit. */
export const KIT_DIR = join(ROOT, 'examples', 'kubernetes')

// A loose view of the manifests: the tests check the shape they rely on as they go.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = Record<string, any>

/** Every file under the kit, recursively, relative to it. */
export function kitFiles(dir = KIT_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? kitFiles(join(dir, e.name)).map((f) => join(e.name, f)) : [e.name]))
    .sort()
}

/** Every document of a YAML file (multi-document too); throws on the first error or warning. */
export function yamlDocuments(path: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'))
  const out: Manifest[] = []
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const problems = [...doc.errors, ...doc.warnings]
    if (problems.length > 0) throw new Error(`${relative(ROOT, path)}: ${problems.map((p) => p.message).join('; ')}`)
    const value = doc.toJS() as Manifest | null
    if (value !== null) out.push(value)
  }
  return out
}

/** The one object of `kind` in the kit's top-level YAML files (what `kubectl apply -f examples/kubernetes/` applies). */
export function manifest(kind: string): Manifest {
  const found = kitFiles()
    .filter((f) => !f.includes('/') && f.endsWith('.yaml'))
    .flatMap((f) => yamlDocuments(join(KIT_DIR, f)))
    .filter((d) => d.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind} in examples/kubernetes/, found ${found.length}`)
  return found[0] as Manifest
}

/** The Deployment's `app` container. */
export function appContainer(): Manifest {
  const containers = manifest('Deployment').spec.template.spec.containers as Manifest[]
  const app = containers.find((c) => c.name === 'app')
  if (app === undefined) throw new Error('the Deployment has no container "app"')
  return app
}

/** One env var of the app container. */
export function envVar(name: string): Manifest {
  const v = (appContainer().env as Manifest[]).find((e) => e.name === name)
  if (v === undefined) throw new Error(`the app container sets no ${name}`)
  return v
}

/** A rule of the PrometheusRule. */
export interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

/** The PrometheusRule's groups. */
export function ruleGroups(): { name: string; rules: Rule[] }[] {
  return manifest('PrometheusRule').spec.groups as { name: string; rules: Rule[] }[]
}

/** The PrometheusRule's `spec` as a plain Prometheus rule file (what promtool and `rule_files` read). */
export function rulesFileText(): string {
  return stringify({ groups: ruleGroups() })
}

/** The dashboard JSON. */
export function dashboard(): Manifest {
  return JSON.parse(readFileSync(join(KIT_DIR, 'grafana', 'oomkit-dashboard.json'), 'utf8')) as Manifest
}

/** Every PromQL query of the dashboard: the panels' targets and the template variables' label_values() metrics. */
export function dashboardQueries(): { exprs: string[]; variableMetrics: string[] } {
  const d = dashboard()
  const exprs: string[] = []
  const visit = (panels: Manifest[]): void => {
    for (const p of panels) {
      for (const t of (p.targets ?? []) as Manifest[]) exprs.push(t.expr as string)
      if (Array.isArray(p.panels)) visit(p.panels as Manifest[])
    }
  }
  visit(d.panels as Manifest[])
  const variableMetrics: string[] = []
  for (const v of d.templating.list as Manifest[]) {
    if (v.type !== 'query') continue
    const q = typeof v.query === 'string' ? v.query : (v.query.query as string)
    const m = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q)
    if (m === null) throw new Error(`variable ${v.name as string}: not a label_values(metric, label) query: ${q}`)
    variableMetrics.push(m[1] as string)
  }
  return { exprs, variableMetrics }
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan'])

/**
 * The metric names a PromQL expression selects (enough PromQL for the kit's queries): strings,
 * label matchers, ranges and grouping clauses removed, then every identifier that is not a
 * function, an aggregation or a keyword. Grafana's `$variables` live in matchers, so they go too.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const out = new Set<string>()
  for (const m of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0]
    if (NOT_METRICS.has(name.toLowerCase())) continue
    if (
      s
        .slice((m.index ?? 0) + name.length)
        .trimStart()
        .startsWith('(')
    )
      continue
    out.add(name)
  }
  return [...out]
}

/** Every `name{matchers}` selector of an expression, with the label names its matchers use. */
export function selectors(expr: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = []
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const labels = [...(m[2] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string)
    out.push({ name: m[1] as string, labels })
  }
  return out
}

/** Parses a Kubernetes memory quantity (`512Mi`, `1Gi`, `500M`, bytes) into bytes. */
export function quantityBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q)
  if (m === null) throw new Error(`not a memory quantity: ${q}`)
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1
  return Number(m[1]) * unit
}

/** Seconds of a Kubernetes-style or Prometheus duration: `15m`, `1h`, `30s`. */
export function durationSeconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d)
  if (m === null) throw new Error(`not a duration: ${d}`)
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h']
}

/** The longest heap-snapshot pause in benchmarks/README.md: the largest value of every table's `snapshot s` column. */
export function worstSnapshotPauseSeconds(): number {
  const lines = readFileSync(join(ROOT, 'benchmarks', 'README.md'), 'utf8').split('\n')
  let column = -1
  let worst = 0
  for (const line of lines) {
    if (!line.startsWith('|')) {
      column = -1
      continue
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
    const header = cells.indexOf('snapshot s')
    if (header >= 0) column = header
    else if (column >= 0) {
      const v = Number(cells[column])
      if (Number.isFinite(v)) worst = Math.max(worst, v)
    }
  }
  if (worst === 0) throw new Error('benchmarks/README.md has no "snapshot s" column with values')
  return worst
}
