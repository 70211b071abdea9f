import type { ReportSections } from '../../capability.js'
import type { CoreReport } from '../../memory/report.js'
import { bytes, count, esc, percent, span } from './format.js'
import { type ChartOptions, renderCharts } from './memory-charts.js'
import { PAGE_CSS } from './styles.js'
import { cachesTable, growingSitesTable, leaksTables, topSitesTable } from './tables.js'
import { type Verdict, budgetWords, crashWords, snapshotWords, trendWords } from './words.js'

/** The report the page is rendered from: what `kit.report()` returns. */
export type PageReport = CoreReport & ReportSections

/** What the page needs besides the report. */
export interface PageOptions extends ChartOptions {
  /** Seconds between reloads (`<meta http-equiv="refresh">`); 0 for none. */
  readonly refreshSeconds: number
}

function verdict(v: Verdict, name: string, extra = ''): string {
  const details = v.details.length === 0 ? '' : `<ul>${v.details.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`
  return `<div class="verdict ${v.level}" data-verdict="${esc(name)}"><p class="headline">${esc(v.headline)}</p>${details}${extra}</div>`
}

function stat(label: string, value: string, sub: string): string {
  return `<li><span class="label">${esc(label)}</span><span class="value">${esc(value)}</span><span class="sub">${esc(sub)}</span></li>`
}

function stats(r: PageReport): string {
  const c = r.container
  const working =
    c === null
      ? stat('Working set', 'not measured', 'no memory cgroup')
      : stat('Working set', bytes(c.workingSetBytes), c.limitBytes === null ? 'no container limit' : `${percent(c.utilization)} of ${bytes(c.limitBytes)}`)
  return [
    '<ul class="stats">',
    working,
    stat('V8 heap used', bytes(r.v8.usedHeapSize), `of a ${bytes(r.v8.heapSizeLimit)} heap limit`),
    stat('Live after GC', bytes(r.v8.liveAfterGcBytes), r.v8.majorGcCount === 0 ? 'no major GC yet' : `${count(r.v8.majorGcCount)} major GCs`),
    stat('RSS', bytes(r.process.rss), `external ${bytes(r.process.external)}`),
    stat('OOM kills', c === null || c.oomKills === null ? '—' : count(c.oomKills), c === null ? 'no memory cgroup' : `cgroup v${c.cgroupVersion}`),
    '</ul>',
  ].join('')
}

function budget(r: PageReport): string {
  const b = budgetWords(r.budget)
  const flag = b.flag === null ? '' : `<p>${b.level === 'ok' ? 'The flag for this limit' : 'Set'}:</p><code class="flag" data-flag>${esc(b.flag)}</code>`
  return verdict(b, `budget:${b.verdict}`, flag)
}

function crash(r: PageReport): string {
  const c = r.previousCrash
  const extra = c === null ? '' : `<p class="note">${esc(`Files in ${c.dir}: ${c.files.length === 0 ? 'none' : c.files.join(', ')}`)}</p>`
  return verdict(crashWords(c), c === null ? 'crash:none' : `crash:${c.cause}`, extra)
}

function downloads(r: PageReport): string {
  // Relative links: under a prefix (`app.use('/ops', oomkitExpress(kit))`) the page is
  // /ops/debug/memory, and `pprof/heap` resolves to /ops/debug/pprof/heap.
  const profile =
    r.profile === null
      ? `<li><p class="off">The heap profile is off (heapProfile: false): no pprof download.</p></li>`
      : `<li><a href="pprof/heap" download>Download the heap profile</a> <span class="muted">(pprof, gzip: <code>go tool pprof -top heap.pb.gz</code>; cheap, no pause)</span></li>`
  const s = snapshotWords(r.snapshot)
  const snapshot =
    r.snapshot === null
      ? `<li>${verdict(s, 'snapshot:off')}</li>`
      : `<li><a href="heap" download>Download a heap snapshot</a> <span class="muted">(.heapsnapshot for Chrome DevTools; blocks the event loop while it is written)</span>${verdict(s, `snapshot:${r.snapshot.possible ? 'possible' : (r.snapshot.reason ?? 'refused')}`)}</li>`
  return `<ul class="downloads">${profile}${snapshot}</ul>`
}

function footer(r: PageReport): string {
  const links = [
    ...(r.profile === null ? [] : ['<a href="memory/top?limit=50">top sites</a>', '<a href="memory/top?growth=1&amp;limit=50">growing sites</a>']),
    ...(r.leaks === null ? [] : ['<a href="leaks">leaks</a>']),
  ]
  const json = links.length === 0 ? '' : ` · as JSON: ${links.join(' · ')}`
  return `<footer><p>oomkit · this report as JSON: <code>curl -s &lt;this URL&gt;</code>${json}</p></footer>`
}

function header(r: PageReport, o: PageOptions): string {
  const c = r.container
  const where = c === null ? 'no memory cgroup' : `cgroup v${c.cgroupVersion} ${c.cgroupPath}`
  const refresh =
    o.refreshSeconds > 0 ? `reloads every ${span(o.refreshSeconds * 1000)} (add ?refresh=0 to stop)` : 'does not reload (?refresh=N reloads every N s)'
  return [
    '<header>',
    `<h1>Memory of pid ${r.pid}</h1>`,
    `<p class="muted">${esc(`Up ${span(r.uptimeSeconds * 1000)} · ${where} · report at ${r.timestamp} · ${refresh}`)}</p>`,
    stats(r),
    '</header>',
  ].join('')
}

/**
 * The memory page: one self-contained HTML document (no script, no external resource, one hashed
 * stylesheet) rendered from a report. Every string that comes from the report is escaped. Cheap
 * and bounded: the charts draw at most 600 vertices per series whatever the history's length.
 */
export function renderPage(r: PageReport, o: PageOptions): string {
  const refresh = o.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${o.refreshSeconds}">` : ''
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="referrer" content="no-referrer">',
    refresh,
    `<title>${esc(`oomkit · memory of pid ${r.pid}`)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${PAGE_CSS}</style>`,
    '</head><body>',
    header(r, o),
    '<main>',
    `<section id="trend"><h2>Trend and forecast</h2>${verdict(trendWords(r.trend), r.trend === null ? 'trend:off' : `trend:${r.trend.growing ?? 'flat'}`)}</section>`,
    `<section id="budget"><h2>Heap budget</h2>${budget(r)}</section>`,
    `<section id="previous-crash"><h2>Previous crash</h2>${crash(r)}</section>`,
    `<section id="charts"><h2>History</h2><div class="charts">${renderCharts(r, o)}</div></section>`,
    `<section id="sites"><h2>Allocation sites</h2>${topSitesTable(r.profile)}${growingSitesTable(r.trend)}</section>`,
    `<section id="caches"><h2>Caches</h2>${cachesTable(r.caches)}</section>`,
    `<section id="leaks"><h2>Leaks</h2>${leaksTables(r.leaks)}</section>`,
    `<section id="downloads"><h2>Heap profile and snapshot</h2>${downloads(r)}</section>`,
    '</main>',
    footer(r),
    '</body></html>',
    '',
  ].join('\n')
}
