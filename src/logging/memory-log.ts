import type { Budget } from '../memory/budget.js'
import type { MemoryFields, ThresholdCrossing } from '../memory/threshold.js'
import { type OomkitLogger, flushLogger } from './logger.js'

/** The fields of the periodic `"memory"` line. */
export type MemoryLogFields = MemoryFields

/** Writes the periodic `"memory"` info line: the core's fields and what capabilities add. */
export function logMemoryLine(logger: OomkitLogger, fields: MemoryFields & Record<string, unknown>): void {
  logger.info(fields, 'memory')
}

/**
 * The threshold watch's log subscriber: `warn` for a warn crossing, `error` for a critical one,
 * flushed at once (a SIGKILL may follow within milliseconds).
 */
export function thresholdLogger(logger: OomkitLogger): (crossing: ThresholdCrossing) => void {
  return function logThresholdCrossing({ level, threshold, fields }) {
    if (level === 'critical') {
      logger.error({ ...fields, threshold }, 'memory critical: working set near the container limit')
      flushLogger(logger)
      return
    }
    logger.warn({ ...fields, threshold }, 'memory high: working set above the warning ratio of the container limit')
  }
}

/** The budget verdict line (at start, and again when the container limit changes): `warn` when the heap limit does not fit the container's. */
export function logBudget(logger: OomkitLogger, b: Budget): void {
  const fields = {
    verdict: b.verdict,
    heapLimit: b.heapLimitBytes,
    limit: b.containerLimitBytes,
    recommendedMaxOldSpaceSizeMb: b.recommendedMaxOldSpaceSizeMb,
    recommendedFlag: b.recommendedFlag,
  }
  if (b.verdict === 'heap-limit-exceeds-container' || b.verdict === 'heap-limit-far-below-container') logger.warn(fields, b.message)
  else logger.info(fields, b.message)
}
