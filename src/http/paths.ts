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
  const { raw, path, query } = splitTarget(url)
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return null
  }
  return { raw, canonical: normalize(decoded), query }
}

/**
 * The territory of a target whose percent-encoding is invalid (`canonicalize` gave null), decided
 * on its path with only the ASCII escapes decoded: the others cannot spell `debug` or a separator.
 * So `/debug/memory%` and `/%64ebug/x%zz` are debug, get the auth decision every other spelling of
 * `/debug/...` gets, and then a 400. Only debug is claimed: anything else stays the app's, as before.
 */
export function undecodableTerritory(url: string): 'debug' | 'other' {
  const ascii = splitTarget(url).path.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  return territoryOf(normalize(ascii)) === 'debug' ? 'debug' : 'other'
}

function splitTarget(url: string): { raw: string; path: string; query: string } {
  const q = url.indexOf('?')
  const raw = q < 0 ? url : url.slice(0, q)
  const query = q < 0 ? '' : url.slice(q + 1)
  // An absolute-form target (`GET http://host/debug/memory`, RFC 9112 §3.2.2) names the same
  // resource as its path: it gets that path's territory and auth decision (and, as a variant, a 404).
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(raw)
  return { raw, path: authority === null ? raw : raw.slice(authority[0].length), query }
}

function normalize(decoded: string): string {
  const out: string[] = []
  for (const segment of decoded.replace(/\\/g, '/').toLowerCase().split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') out.pop()
    else out.push(segment)
  }
  return `/${out.join('/')}`
}

/**
 * True when a request target is certainly the app's (territory 'other') without canonicalising
 * it: a plain origin-form path (it starts with `/` and has no `%`, `\\` or `/.`, so decoding,
 * separators and dot segments cannot change it) whose first segment, lower-cased, is neither
 * `debug` nor `metrics`. That is every ordinary request an adapter passes on to the app, decided
 * without decoding, lower-casing or splitting the path (the cost that otherwise falls on every
 * request of the app); anything it is not sure of gets the full {@link canonicalize}.
 */
export function plainlyOther(url: string): boolean {
  if (url.charCodeAt(0) !== 0x2f) return false
  let end = url.indexOf('?')
  if (end < 0) end = url.length
  let start = 1
  while (start < end && url.charCodeAt(start) === 0x2f) start++
  for (let i = start - 1; i < end; i++) {
    const c = url.charCodeAt(i)
    if (c === 0x25 || c === 0x5c || (c === 0x2e && url.charCodeAt(i - 1) === 0x2f)) return false
  }
  let stop = url.indexOf('/', start)
  if (stop < 0 || stop > end) stop = end
  const length = stop - start
  if (length !== 5 && length !== 7) return true
  const first = url.slice(start, stop).toLowerCase()
  return first !== 'debug' && first !== 'metrics'
}

/** Which part of the URL space a canonical path is in. */
export type Territory = 'debug' | 'metrics' | 'other'

/** Whole-segment match: `/debug` and `/debug/...` are debug, `/debugger` is not. */
export function territoryOf(canonical: string): Territory {
  if (canonical === '/debug' || canonical.startsWith('/debug/')) return 'debug'
  if (canonical === '/metrics') return 'metrics'
  return 'other'
}
