import { RANGES } from '../options/ranges.js'
import { checkKeys, intOption, ratioOption } from '../options/validate.js'

/** Options of the last words and the previous-crash check (`lastWords`). */
export interface LastWordsOptions {
  /** Captures one process writes at most (0 to 100); 0 keeps the restart check and Node's fatal-error report only. @default 3 */
  maxCaptures?: number
  /** Files kept in `<diagnosticsDir>/last-words` (6 to 10,000), oldest removed first. @default 20 */
  maxFiles?: number
  /** Bytes kept there in total (1 MiB to 4 GiB), oldest removed first. @default 67108864 */
  maxBytes?: number
  /**
   * V8's old generation after a major GC, as a share of its limit, that triggers a capture (0.5 to
   * 0.99). The limit is `--max-old-space-size` when the process was given it, else `heap_size_limit`.
   * @default 0.9
   */
  heapNearRatio?: number
}

/** `lastWords` after defaults. */
export type ResolvedLastWordsOptions = Readonly<Required<LastWordsOptions>>

/** The last words' defaults. */
export const LAST_WORDS_DEFAULTS: ResolvedLastWordsOptions = Object.freeze({ maxCaptures: 3, maxFiles: 20, maxBytes: 64 * 1024 * 1024, heapNearRatio: 0.9 })

/** Bounds of `heapNearRatio`: below half the limit nothing is near yet; at 1 V8 has already failed. */
export const HEAP_NEAR_RANGE = Object.freeze({ min: 0.5, max: 0.99 })

const KEYS = new Set(Object.keys(LAST_WORDS_DEFAULTS))

/** Validates `lastWords`: an options object, or `false` to turn last words and the restart check off. */
export function resolveLastWords(value: unknown): ResolvedLastWordsOptions | false {
  if (value === undefined) return LAST_WORDS_DEFAULTS
  if (value === false) return false
  const o = checkKeys('lastWords', value, KEYS)
  const d = LAST_WORDS_DEFAULTS
  return Object.freeze({
    maxCaptures: intOption('lastWords.maxCaptures', o.maxCaptures, d.maxCaptures, RANGES['lastWords.maxCaptures']),
    maxFiles: intOption('lastWords.maxFiles', o.maxFiles, d.maxFiles, RANGES['lastWords.maxFiles']),
    maxBytes: intOption('lastWords.maxBytes', o.maxBytes, d.maxBytes, RANGES['lastWords.maxBytes']),
    heapNearRatio: ratioOption('lastWords.heapNearRatio', o.heapNearRatio, d.heapNearRatio, HEAP_NEAR_RANGE.min, HEAP_NEAR_RANGE.max, false),
  })
}
