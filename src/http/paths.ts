/** How a request path maps onto oomkit's routes. */
export interface CanonicalPath {
  /** The path as sent, without the query. */
  readonly raw: string
  /** Decoded once, lower-cased, `\` as `/`, empty and `.` segments dropped, `..` resolved, no trailing slash. */
  readonly canonical: string
  /** The query string, without `?` (empty when none). */
  readonly query: string
}

/**
 * Splits and canonicalises a request target. Returns null when the percent-encoding is invalid.
 * The canonical form is only ever used to decide which territory a request falls in (a debug
 * route, /metrics, or the app's): every spelling of `/debug/...` gets the same auth decision,
 * and only the exact canonical spelling reaches a handler.
 */
export function canonicalize(url: string): CanonicalPath | null {
  const q = url.indexOf('?')
  const raw = q < 0 ? url : url.slice(0, q)
  const query = q < 0 ? '' : url.slice(q + 1)
  // An absolute-form target (`GET http://host/debug/memory`, RFC 9112 §3.2.2) names the same
  // resource as its path: it gets that path's territory and auth decision (and, as a variant, a 404).
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(raw)
  let decoded: string
  try {
    decoded = decodeURIComponent(authority === null ? raw : raw.slice(authority[0].length))
  } catch {
    return null
  }
  const out: string[] = []
  for (const segment of decoded.replace(/\\/g, '/').toLowerCase().split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') out.pop()
    else out.push(segment)
  }
  return { raw, canonical: `/${out.join('/')}`, query }
}

/** Which part of the URL space a canonical path is in. */
export type Territory = 'debug' | 'metrics' | 'other'

/** Whole-segment match: `/debug` and `/debug/...` are debug, `/debugger` is not. */
export function territoryOf(canonical: string): Territory {
  if (canonical === '/debug' || canonical.startsWith('/debug/')) return 'debug'
  if (canonical === '/metrics') return 'metrics'
  return 'other'
}
