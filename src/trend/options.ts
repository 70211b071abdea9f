import { RANGES } from '../options/ranges.js'
import { checkKeys, intOption } from '../options/validate.js'

/** Options of the live-set trend and leak detector (`trend`). */
export interface TrendOptions {
  /** How far back the growth estimates look, in ms (60,000 to 86,400,000). @default 900000 */
  windowMs?: number
}

/** `trend` after defaults. */
export type ResolvedTrendOptions = Readonly<Required<TrendOptions>>

/** The trend's defaults. */
export const TREND_DEFAULTS: ResolvedTrendOptions = Object.freeze({ windowMs: 900_000 })

const KEYS = new Set(Object.keys(TREND_DEFAULTS))

/** Validates `trend`: an options object, or `false` to turn the trend, the forecast and leak suspicion off. */
export function resolveTrend(value: unknown): ResolvedTrendOptions | false {
  if (value === undefined) return TREND_DEFAULTS
  if (value === false) return false
  const o = checkKeys('trend', value, KEYS)
  return Object.freeze({ windowMs: intOption('trend.windowMs', o.windowMs, TREND_DEFAULTS.windowMs, RANGES['trend.windowMs']) })
}
