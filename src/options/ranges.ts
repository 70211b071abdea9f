/** An integer option's bounds; `zeroOff` lets 0 stand for "off" below `min`. */
export interface IntRange {
  readonly min: number
  readonly max: number
  readonly zeroOff?: boolean
}

/**
 * The one table of numeric bounds. `createOomkit`, `listen()` and `oomkit/register`'s variables
 * all check against these rows, so an option and the variable that feeds it can never disagree.
 */
export const RANGES = Object.freeze({
  sampleIntervalMs: { min: 100, max: 3_600_000 },
  fastSampleIntervalMs: { min: 50, max: 60_000 },
  logIntervalMs: { min: 1000, max: 86_400_000, zeroOff: true },
  historySize: { min: 1, max: 10_000 },
  collectorTimeoutMs: { min: 10, max: 10_000 },
  port: { min: 0, max: 65_535 },
  'heapProfile.intervalBytes': { min: 1024, max: 16_777_216 },
  'heapProfile.stackDepth': { min: 1, max: 512 },
  'snapshot.cooldownMs': { min: 0, max: 86_400_000 },
  'snapshot.idleTimeoutMs': { min: 1000, max: 600_000 },
  'trend.windowMs': { min: 60_000, max: 86_400_000 },
  'lastWords.maxCaptures': { min: 0, max: 100 },
  'lastWords.maxFiles': { min: 6, max: 10_000 },
  'lastWords.maxBytes': { min: 1_048_576, max: 4_294_967_296 },
} satisfies Record<string, IntRange>)

/** The name of a row of {@link RANGES}. */
export type RangeName = keyof typeof RANGES

/** How a range reads in a message: "an integer from 100 to 3600000" or "0 (off) or an integer from …". */
export function describeRange(range: IntRange): string {
  const span = `an integer from ${range.min} to ${range.max}`
  return range.zeroOff === true ? `0 (off) or ${span}` : span
}

/** Whether `value` is an integer within the range (or 0 where the range allows "off"). */
export function inRange(value: number, range: IntRange): boolean {
  if (!Number.isInteger(value)) return false
  if (range.zeroOff === true && value === 0) return true
  return value >= range.min && value <= range.max
}
