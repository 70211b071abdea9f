import type { CachesSection } from '../../cache/section.js'
import type { HeapProfileSection } from '../../heap/profile/profiler.js'
import type { LeaksReport } from '../../leaks/leaks.js'
import type { TrendSection } from '../../trend/section.js'
import { bytes, count, esc, percent, siteLabel, span } from './format.js'

/**
 * The page's tables: allocation sites, growing sites, caches, leaked leases and pools. Each cell
 * is escaped; each table sits in its own scrolling box, so a long file path never widens the page.
 */

/** One column: its heading, and how a row's cell reads (plain text: it is escaped here). */
interface Column<R> {
  readonly head: string
  readonly cell: (row: R) => string
  /** Right-aligned (numbers). */
  readonly num?: boolean
}

function table<R>(caption: string, columns: readonly Column<R>[], rows: readonly R[], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`
  const head = columns.map((c) => `<th scope="col"${c.num === true ? ' class="num"' : ''}>${esc(c.head)}</th>`).join('')
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td${c.num === true ? ' class="num"' : ''}>${esc(c.cell(r))}</td>`).join('')}</tr>`).join('')
  return `<div class="scroll"><table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`
}

const off = (what: string, option: string): string => `<p class="off">${esc(`${what} off (${option}: false).`)}</p>`

/** The top allocation sites of the sampling heap profile (live bytes by function). */
export function topSitesTable(profile: HeapProfileSection | null): string {
  if (profile === null) return off('The heap profile is', 'heapProfile')
  if (profile.error !== null) return `<p class="failed">${esc(`The heap profile could not be read: ${profile.error}`)}</p>`
  return table(
    `Top allocation sites (live sampled bytes, ${profile.backend} backend, one sample per ${bytes(profile.intervalBytes)})`,
    [
      { head: 'Site', cell: siteLabel },
      { head: 'Live bytes', cell: (s) => bytes(s.bytes), num: true },
      { head: 'Objects', cell: (s) => count(s.count), num: true },
    ],
    profile.topSites,
    'No allocation sites sampled yet.',
  )
}

/** The sites whose live bytes grow fastest (while the trend sees heap growth). */
export function growingSitesTable(trend: TrendSection | null): string {
  if (trend === null) return off('The trend is', 'trend')
  return table(
    'Fastest growing allocation sites',
    [
      { head: 'Site', cell: siteLabel },
      { head: 'Growth', cell: (s) => `${bytes(s.growthBytesPerSecond * 60)}/min`, num: true },
      { head: 'Live bytes', cell: (s) => bytes(s.bytes), num: true },
    ],
    trend.growingSites,
    trend.growing === 'heap' ? 'No growing sites found yet (the profile needs a few readings).' : 'None: the V8 heap is not growing.',
  )
}

/** Every cache attached to the instance. */
export function cachesTable(caches: CachesSection | null): string {
  if (caches === null) return off('Cache reporting is', 'caches')
  return table(
    `Caches: ${caches.count}, holding ${bytes(caches.bytes)} (${percent(caches.heapShare)} of the heap used)`,
    [
      { head: 'Name', cell: (c) => c.name },
      { head: 'Entries', cell: (c) => (c.maxEntries === null ? count(c.entries) : `${count(c.entries)} / ${count(c.maxEntries)}`), num: true },
      { head: 'Bytes', cell: (c) => `${c.bytesSampled ? '≈ ' : ''}${bytes(c.bytes)}${c.maxBytes === null ? '' : ` / ${bytes(c.maxBytes)}`}`, num: true },
      { head: 'Heap share', cell: (c) => percent(c.heapShare), num: true },
      { head: 'Hit ratio', cell: (c) => percent(c.hitRatio), num: true },
      { head: 'Evictions', cell: (c) => count(Object.values(c.evictions).reduce((a: number, b: number) => a + b, 0)), num: true },
    ],
    caches.caches,
    'No caches attached (kit.cache, kit.memoize or createCache make one).',
  )
}

/** Leases held past their threshold (with the site that took them) and the tracked pools. */
export function leaksTables(leaks: LeaksReport | null): string {
  if (leaks === null) return off('Leak tracking is', 'leaks')
  const summary = `<p>${esc(`${count(leaks.open)} open, ${count(leaks.leaked)} held past their threshold (${span(leaks.holdThresholdMs)} by default)${leaks.running ? '' : '; not running'}.`)}</p>`
  const leases = table(
    'Leases held past their threshold (oldest first)',
    [
      { head: 'Kind', cell: (l) => l.kind },
      { head: 'Pool', cell: (l) => l.pool },
      { head: 'Held', cell: (l) => span(l.ageMs), num: true },
      {
        head: 'Acquired at',
        cell: (l) => (l.site === null ? (l.stack[0] ?? 'no stack captured') : `${l.site.function} (${l.site.file}:${l.site.line}:${l.site.column})`),
      },
    ],
    leaks.leases,
    'No lease is held past its threshold.',
  )
  const pools = table(
    'Tracked pools',
    [
      { head: 'Pool', cell: (p) => `${p.name} (${p.kind})` },
      { head: 'Open', cell: (p) => count(p.open), num: true },
      { head: 'Size / max', cell: (p) => `${p.size ?? '—'} / ${p.max ?? '—'}`, num: true },
      { head: 'Idle', cell: (p) => String(p.idle ?? '—'), num: true },
      { head: 'Waiting', cell: (p) => String(p.waiting ?? '—'), num: true },
      { head: 'Leaks', cell: (p) => count(p.leaks), num: true },
      { head: 'Acquire timeouts', cell: (p) => count(p.acquireTimeouts), num: true },
    ],
    leaks.pools,
    'No pools tracked (kit.leaks.trackPool adds one).',
  )
  return summary + leases + pools
}
