import { type CgroupLocation, type ContainerMemory, readContainerMemory } from '../container/index.js'
import { Ring } from './history.js'
import { type ProcessMemory, type V8Memory, readProcess, readV8 } from './v8.js'

export type { HeapSpace, ProcessMemory, V8Memory } from './v8.js'

/** One entry of the bounded history. */
export interface Sample {
  /** Epoch ms. */
  readonly t: number
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  readonly workingSet: number | null
  readonly limit: number | null
  readonly liveAfterGc: number | null
}

/** Everything one sampling tick read. */
export interface Reading {
  readonly t: number
  readonly process: ProcessMemory
  readonly v8: V8Memory
  readonly container: ContainerMemory | null
}

/**
 * Takes readings on demand and keeps a bounded history of them. The timer lives in the kit; the
 * sampler itself holds no handle, so it can be driven by tests with an injected clock.
 */
export class Sampler {
  /** The bounded history of samples, oldest first. */
  readonly history: Ring<Sample>
  #last: Reading | null = null
  /** The newest container reading (a sample's or a scrape's) and when it was taken. */
  #container: { readonly at: number; readonly value: ContainerMemory | null } | null = null

  constructor(
    readonly location: CgroupLocation | null,
    historySize: number,
    readonly liveAfterGc: () => number | null,
    // Not readonly: tests drive time through `internals(kit).setClock` (a trend needs minutes of samples).
    public now: () => number = Date.now,
  ) {
    this.history = new Ring<Sample>(historySize)
  }

  /** Reads the container now (or null without a memory cgroup). */
  readContainer(): ContainerMemory | null {
    const value = this.location === null ? null : readContainerMemory(this.location)
    this.#container = { at: this.now(), value }
    return value
  }

  /**
   * The newest container reading when it is at most `maxAgeMs` old, else one read now: a scrape
   * reads four to eight cgroup files, and scrapes (or a sample and a scrape) a moment apart would
   * read the same numbers twice. A clock that went back reads anew.
   */
  recentContainer(maxAgeMs: number): ContainerMemory | null {
    const last = this.#container
    if (last !== null) {
      const age = this.now() - last.at
      if (age >= 0 && age <= maxAgeMs) return last.value
    }
    return this.readContainer()
  }

  /** Takes one reading without recording it. */
  read(): Reading {
    return { t: this.now(), process: readProcess(), v8: readV8(), container: this.readContainer() }
  }

  /**
   * Takes one reading and appends it to the history, unless `minSpacingMs` is given and the
   * newest entry is younger than that (fast sampling must not flood the history ring).
   */
  sample(minSpacingMs = 0): Reading {
    const reading = this.read()
    this.#last = reading
    const newest = this.history.last()
    if (minSpacingMs > 0 && newest !== undefined && reading.t - newest.t < minSpacingMs) return reading
    this.history.push({
      t: reading.t,
      rss: reading.process.rss,
      heapUsed: reading.process.heapUsed,
      heapTotal: reading.process.heapTotal,
      external: reading.process.external,
      arrayBuffers: reading.process.arrayBuffers,
      workingSet: reading.container?.workingSetBytes ?? null,
      limit: reading.container?.limitBytes ?? null,
      liveAfterGc: this.liveAfterGc(),
    })
    return reading
  }

  /** The newest reading, taking one first if there is none yet. */
  latest(): Reading {
    return this.#last ?? this.sample()
  }
}
