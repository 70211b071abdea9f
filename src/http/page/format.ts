/**
 * How the memory page writes text and numbers: every string from the report goes through
 * {@link esc} (function names, file paths, cache and pool names and messages are the app's, and
 * may hold anything), bytes in binary units, times relative to the report.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** HTML-escapes text for element content and double- or single-quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** Bytes as a reader wants them: `512 B`, `12.5 KiB`, `166.0 MiB`, `1.25 GiB`; `—` for null. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  const sign = n < 0 ? '-' : ''
  const a = Math.abs(n)
  if (a < KiB) return `${sign}${Math.round(a)} B`
  if (a < MiB) return `${sign}${(a / KiB).toFixed(1)} KiB`
  if (a < GiB) return `${sign}${(a / MiB).toFixed(1)} MiB`
  return `${sign}${(a / GiB).toFixed(2)} GiB`
}

/** The binary unit an axis reaching `max` bytes is labelled in. */
export function axisUnit(max: number): { readonly name: 'KiB' | 'MiB' | 'GiB'; readonly bytes: number } {
  if (max >= GiB) return { name: 'GiB', bytes: GiB }
  if (max >= MiB) return { name: 'MiB', bytes: MiB }
  return { name: 'KiB', bytes: KiB }
}

/** A share as a percentage: `64.8 %`; `—` for null. */
export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(1)} %`
}

/** A count with thousands separators (`12,345`), locale-independent. */
export function count(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** Milliseconds as `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function span(ms: number): string {
  const s = Math.max(0, ms) / 1000
  if (s < 120) return `${Math.round(s)} s`
  if (s < 3 * 3600) return `${Math.round(s / 60)} min`
  if (s < 72 * 3600) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86400).toFixed(1)} d`
}

/** `site (file:line)`, the way the tables name an allocation site; `(internals)` rows have no file. */
export function siteLabel(site: { readonly function: string; readonly file: string; readonly line: number }): string {
  return site.file === '' ? site.function : `${site.function} (${site.file}:${site.line})`
}
