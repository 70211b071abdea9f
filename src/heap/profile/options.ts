import { RANGES } from '../../options/ranges.js'
import { checkKeys, intOption } from '../../options/validate.js'

/** Options of the always-on sampling heap profiler (`heapProfile`). */
export interface HeapProfileOptions {
  /** Average bytes between samples (1024 to 16,777,216); smaller is more precise and costlier. @default 524288 */
  intervalBytes?: number
  /** Deepest stack recorded per sample (1 to 512). @default 64 */
  stackDepth?: number
}

/** `heapProfile` after defaults. */
export type ResolvedHeapProfileOptions = Readonly<Required<HeapProfileOptions>>

/** The profiler's defaults. */
export const HEAP_PROFILE_DEFAULTS: ResolvedHeapProfileOptions = Object.freeze({ intervalBytes: 524_288, stackDepth: 64 })

const KEYS = new Set(Object.keys(HEAP_PROFILE_DEFAULTS))

/** Validates `heapProfile`: an options object, or `false` for off. */
export function resolveHeapProfile(value: unknown): ResolvedHeapProfileOptions | false {
  if (value === undefined) return HEAP_PROFILE_DEFAULTS
  if (value === false) return false
  const o = checkKeys('heapProfile', value, KEYS)
  return Object.freeze({
    intervalBytes: intOption('heapProfile.intervalBytes', o.intervalBytes, HEAP_PROFILE_DEFAULTS.intervalBytes, RANGES['heapProfile.intervalBytes']),
    stackDepth: intOption('heapProfile.stackDepth', o.stackDepth, HEAP_PROFILE_DEFAULTS.stackDepth, RANGES['heapProfile.stackDepth']),
  })
}
