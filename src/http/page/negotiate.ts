/**
 * Content negotiation for `GET /debug/memory`: the HTML page for a client that prefers `text/html`
 * (a browser), the JSON report for everyone else (curl sends `*\/*`, scripts send nothing or
 * `application/json`). A header that does not parse means JSON: the route never fails on it.
 */

/** One media range of an `Accept` header, as parsed. */
export interface MediaRange {
  /** Lower-cased type, `*` for any. */
  readonly type: string
  /** Lower-cased subtype, `*` for any. */
  readonly subtype: string
  /** The weight, 0 to 1 (1 when absent). */
  readonly q: number
}

/** Most media ranges read from one header: a longer list is not a browser's, and is not parsed. */
export const MAX_MEDIA_RANGES = 64

// RFC 9110 §5.6.2 tokens, §12.4.2 qvalues (at most three decimals, never above 1).
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/
const QUOTED = /^"(?:[^"\\]|\\.)*"$/

/**
 * Parses an `Accept` header into its media ranges, in order; null when it is malformed (a range
 * that is not `type/subtype`, `*` with a concrete subtype, a bad parameter or q-value, more than
 * {@link MAX_MEDIA_RANGES} ranges). Empty list elements are allowed, as RFC 9110 §5.6.1 says.
 */
export function parseAccept(header: string): MediaRange[] | null {
  const out: MediaRange[] = []
  for (const element of header.split(',')) {
    if (element.trim() === '') continue
    if (out.length === MAX_MEDIA_RANGES) return null
    const [range = '', ...params] = element.split(';').map((s) => s.trim())
    const slash = range.indexOf('/')
    if (slash < 0) return null
    const type = range.slice(0, slash).toLowerCase()
    const subtype = range.slice(slash + 1).toLowerCase()
    if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) return null
    let q = 1
    let seenQ = false
    for (const param of params) {
      const eq = param.indexOf('=')
      if (eq <= 0) return null
      const name = param.slice(0, eq).trim().toLowerCase()
      const value = param.slice(eq + 1).trim()
      if (!TOKEN.test(name) || !(TOKEN.test(value) || QUOTED.test(value))) return null
      if (name === 'q' && !seenQ) {
        if (!QVALUE.test(value)) return null
        q = Number(value)
        seenQ = true
      }
    }
    out.push({ type, subtype, q })
  }
  return out
}

/**
 * The weight a list of ranges gives `type/subtype`: that of the most specific range matching it
 * (`type/subtype` over `type/*` over `*\/*`; the highest q among equally specific ones), or 0 when
 * none does. Parameters other than q do not change which ranges match.
 */
export function qualityOf(ranges: readonly MediaRange[], type: string, subtype: string): number {
  let best = -1
  let q = 0
  for (const r of ranges) {
    const specificity = r.type === type && r.subtype === subtype ? 3 : r.type === type && r.subtype === '*' ? 2 : r.type === '*' ? 1 : 0
    if (specificity === 0) continue
    if (specificity > best || (specificity === best && r.q > q)) {
      best = specificity
      q = r.q
    }
  }
  return q
}

/**
 * Whether a request with this `Accept` header gets the HTML page: only when `text/html` weighs
 * strictly more than `application/json`. No header, a tie (`*\/*`) or a malformed header: JSON.
 *
 * @example
 * prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8') // true (a browser)
 * prefersHtml('*\/*') // false (curl)
 */
export function prefersHtml(accept: string | readonly string[] | undefined): boolean {
  if (accept === undefined) return false
  const ranges = parseAccept(typeof accept === 'string' ? accept : accept.join(','))
  if (ranges === null) return false
  return qualityOf(ranges, 'text', 'html') > qualityOf(ranges, 'application', 'json')
}
