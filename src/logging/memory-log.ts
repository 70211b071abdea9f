import type { OomkitLogger } from '../config.js'
import { utilization } from '../memory/report.js'
import type { Reading } from '../memory/sampler.js'
import { flushLogger } from './logger.js'

/** The fields of the periodic `"memory"` line: numbers in bytes (utilization as a ratio). */
export interface MemoryLogFields {
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  readonly liveAfterGc: number | null
  readonly heapLimit: number
  readonly workingSet: number | null
  readonly limit: number | null
  readonly utilization: number | null
  readonly oomKills: number | null
}

/** Builds the fields of the `"memory"` line from one reading. */
export function memoryLogFields(reading: Reading, liveAfterGc: number | null): MemoryLogFields {
  const c = reading.container
  return {
    rss: reading.process.rss,
    heapUsed: reading.process.heapUsed,
    heapTotal: reading.process.heapTotal,
    external: reading.process.external,
    arrayBuffers: reading.process.arrayBuffers,
    liveAfterGc,
    heapLimit: reading.v8.heapSizeLimit,
    workingSet: c?.workingSetBytes ?? null,
    limit: c?.limitBytes ?? null,
    utilization: utilization(c),
    oomKills: c?.oomKills ?? null,
  }
}

/** Level of a threshold crossing. */
export type ThresholdLevel = 'warn' | 'critical'

/**
 * Logs once per episode when the working set crosses `warnRatio` (warn) or `criticalRatio`
 * (error, flushed at once). An episode ends when the ratio falls back below the threshold, so a
 * service hovering at the limit logs once, not every sample.
 */
export class ThresholdWatch {
  #warned = false
  #critical = false

  constructor(
    private readonly logger: OomkitLogger,
    private readonly warnRatio: number,
    private readonly criticalRatio: number,
    private readonly emit: (level: ThresholdLevel, fields: MemoryLogFields) => void,
  ) {}

  check(fields: MemoryLogFields): void {
    const ratio = fields.utilization
    if (ratio === null) return
    if (ratio >= this.criticalRatio) {
      if (!this.#critical) {
        this.#critical = true
        this.#warned = true
        this.logger.error({ ...fields, threshold: this.criticalRatio }, 'memory critical: working set near the container limit')
        flushLogger(this.logger)
        this.emit('critical', fields)
      }
      return
    }
    if (ratio < this.criticalRatio) this.#critical = false
    if (ratio >= this.warnRatio) {
      if (!this.#warned) {
        this.#warned = true
        this.logger.warn({ ...fields, threshold: this.warnRatio }, 'memory high: working set above the warning ratio of the container limit')
        this.emit('warn', fields)
      }
      return
    }
    this.#warned = false
  }
}
