import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'
import { readHeapUsed } from './v8.js'

/** What the GC observer has seen since start. */
export interface GcState {
  /** Heap used right after the last major (mark-compact) GC: the live set. null until one ran. */
  liveAfterGcBytes: number | null
  /** When that GC ended (epoch ms). */
  lastMajorGcAt: number | null
  /** Major GCs seen. */
  majorGcCount: number
  /** Total time spent in major GCs, ms. */
  majorGcMs: number
}

/**
 * Watches `gc` performance entries and records the heap used right after each major GC. The
 * entries arrive shortly after the GC, so the reading includes what was allocated in between:
 * an upper bound of the live set, close enough for trends.
 */
export class GcObserver {
  /** What it has seen so far; updated in place after each major GC. */
  readonly state: GcState = { liveAfterGcBytes: null, lastMajorGcAt: null, majorGcCount: 0, majorGcMs: 0 }
  #observer: PerformanceObserver | null = null
  readonly #onMajor: ((liveBytes: number, at: number) => void) | undefined

  constructor(onMajor?: (liveBytes: number, at: number) => void) {
    this.#onMajor = onMajor
  }

  /** Starts observing `gc` entries (idempotent). */
  start(): void {
    if (this.#observer !== null) return
    const observer = new PerformanceObserver(function onGcEntries(list) {
      handle(list.getEntries())
    })
    const handle = (entries: PerformanceEntry[]): void => {
      let major = false
      for (const entry of entries) {
        const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          major = true
          this.state.majorGcCount++
          this.state.majorGcMs += entry.duration
        }
      }
      if (!major) return
      const live = readHeapUsed()
      const at = Date.now()
      this.state.liveAfterGcBytes = live
      this.state.lastMajorGcAt = at
      this.#onMajor?.(live, at)
    }
    observer.observe({ entryTypes: ['gc'] })
    this.#observer = observer
  }

  /** Stops observing (idempotent). */
  stop(): void {
    this.#observer?.disconnect()
    this.#observer = null
  }
}
