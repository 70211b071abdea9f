import { utilization } from '../container/index.js'
import type { Reading } from './sampler.js'

/** The fields of the periodic `"memory"` line and of threshold events: numbers in bytes (utilization as a ratio). */
export interface MemoryFields {
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

/** Builds the flat fields of one reading. */
export function memoryFields(reading: Reading, liveAfterGc: number | null): MemoryFields {
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

/** One crossing: the level, the ratio it crossed and the reading that crossed it. */
export interface ThresholdCrossing {
  readonly level: ThresholdLevel
  readonly threshold: number
  readonly fields: MemoryFields
}

/**
 * How far below a threshold the ratio must fall to end its episode: a working set sitting on the
 * line (0.849, 0.851, 0.849 ...) is one episode, not one per sample.
 */
export const THRESHOLD_HYSTERESIS = 0.02

/**
 * Detects, once per episode, the working set crossing `warnRatio` (warn) or `criticalRatio`
 * (critical) of the limit. An episode ends when the ratio falls {@link THRESHOLD_HYSTERESIS}
 * below its threshold, so a service hovering at the limit is told once, not every sample. It only
 * detects: logging and the kit's events subscribe with `on()`, in the order they subscribed.
 */
export class ThresholdWatch {
  #warned = false
  #critical = false
  readonly #listeners: ((crossing: ThresholdCrossing) => void)[] = []

  constructor(
    readonly warnRatio: number,
    readonly criticalRatio: number,
  ) {}

  /** Subscribes to crossings. */
  on(listener: (crossing: ThresholdCrossing) => void): this {
    this.#listeners.push(listener)
    return this
  }

  /** Whether a warn or critical episode is open (the ratio is at or near a threshold). */
  get inEpisode(): boolean {
    return this.#warned || this.#critical
  }

  /** Weighs one reading's fields; returns the crossing it made, if any, after telling the listeners. */
  check(fields: MemoryFields): ThresholdCrossing | null {
    const crossing = this.#cross(fields)
    if (crossing !== null) for (const listener of this.#listeners) listener(crossing)
    return crossing
  }

  #cross(fields: MemoryFields): ThresholdCrossing | null {
    const ratio = fields.utilization
    if (ratio === null) return null
    if (ratio >= this.criticalRatio) {
      if (this.#critical) return null
      this.#critical = true
      this.#warned = true
      return { level: 'critical', threshold: this.criticalRatio, fields }
    }
    if (ratio < this.criticalRatio - THRESHOLD_HYSTERESIS) this.#critical = false
    if (ratio >= this.warnRatio) {
      if (this.#warned) return null
      this.#warned = true
      return { level: 'warn', threshold: this.warnRatio, fields }
    }
    if (ratio < this.warnRatio - THRESHOLD_HYSTERESIS) this.#warned = false
    return null
  }
}
