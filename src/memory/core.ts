import { type CgroupLocation, type ContainerMemory, type KernelSignals, locateMemoryCgroup, readKernelSignals } from '../container/index.js'
import { type Budget, checkBudget } from './budget.js'
import { GcObserver, type GcState } from './gc-observer.js'
import { type CoreReport, buildCoreReport } from './report.js'
import { type Reading, type Sample, Sampler } from './sampler.js'
import { readProcess } from './v8.js'

/** What the memory core needs of the options. */
export interface MemoryCoreOptions {
  readonly procRoot: string
  readonly cgroupRoot: string
  readonly historySize: number
  readonly heapRatio: number
}

/**
 * How old a container reading a scrape may serve (a sample's or the previous scrape's): scrapes a
 * moment apart read the same cgroup files once, and no scrape shows numbers older than this.
 */
export const SCRAPE_READING_MAX_AGE_MS = 1000

/**
 * The sources and the sampler of one instance: the memory cgroup (found once, on first use), the
 * GC observer, the sampler and its history, and the budget verdict. No timer lives here: the kit
 * drives `sample()`.
 */
export class MemoryCore {
  readonly #options: MemoryCoreOptions
  readonly #gc: GcObserver
  #location: CgroupLocation | null | undefined
  #sampler: Sampler | null = null
  #budget: Budget | null = null
  /** The newest kernel signals a scrape read, and when (the sampler's clock). */
  #kernel: { readonly at: number; readonly value: KernelSignals | null } | null = null
  /** The newest ArrayBuffer bytes a scrape read, and when. */
  #arrayBuffers: { readonly at: number; readonly value: number } | null = null

  constructor(options: MemoryCoreOptions, onMajorGc: (liveBytes: number, at: number) => void) {
    this.#options = options
    this.#gc = new GcObserver(onMajorGc)
  }

  /** The memory cgroup this process is in, or null where there is none to read. */
  get cgroup(): CgroupLocation | null {
    if (this.#location === undefined) this.#location = locateMemoryCgroup(this.#options.procRoot, this.#options.cgroupRoot)
    return this.#location
  }

  /** The sampler (created on first use). */
  get sampler(): Sampler {
    this.#sampler ??= new Sampler(this.cgroup, this.#options.historySize, () => this.#gc.state.liveAfterGcBytes)
    return this.#sampler
  }

  /** What the GC observer has seen. */
  get gc(): Readonly<GcState> {
    return this.#gc.state
  }

  /** The budget verdict fixed at start, or one computed from the newest reading. */
  get budget(): Budget {
    return this.#budget ?? this.#checkBudget()
  }

  /** Starts the GC observer, takes the first sample and fixes the budget verdict. */
  start(): { reading: Reading; budget: Budget } {
    this.#gc.start()
    const reading = this.sampler.sample()
    this.#budget = this.#checkBudget()
    return { reading, budget: this.#budget }
  }

  /**
   * Takes a sample (see `Sampler.sample`) and, when the container limit changed since the budget
   * was checked (Kubernetes in-place resize, VPA), checks the budget again: `budget` is the new
   * verdict then, else null.
   */
  sample(minSpacingMs = 0): { reading: Reading; budget: Budget | null } {
    const reading = this.sampler.sample(minSpacingMs)
    const limit = reading.container?.limitBytes ?? null
    if (this.#budget === null || limit === this.#budget.containerLimitBytes || reading.container === null) return { reading, budget: null }
    this.#budget = checkBudget(reading.v8.heapSizeLimit, reading.container, this.#options.heapRatio)
    return { reading, budget: this.#budget }
  }

  /** Stops the GC observer. */
  stop(): void {
    this.#gc.stop()
  }

  /** The newest sample (taking one when there is none yet). */
  latest(): Reading {
    return this.sampler.latest()
  }

  /** A fresh reading, not recorded in the history. */
  read(): Reading {
    return this.sampler.read()
  }

  /** The container's memory now, or null without a memory cgroup. */
  readContainer(): ContainerMemory | null {
    return this.sampler.readContainer()
  }

  /** The container's memory at most `maxAgeMs` ago (see `Sampler.recentContainer`). */
  recentContainer(maxAgeMs = SCRAPE_READING_MAX_AGE_MS): ContainerMemory | null {
    return this.sampler.recentContainer(maxAgeMs)
  }

  /** The kernel's early signals now, or null without a memory cgroup. */
  readKernel(): KernelSignals | null {
    const loc = this.cgroup
    return loc === null ? null : readKernelSignals(loc)
  }

  /** The kernel's early signals read at most `maxAgeMs` ago (by an earlier scrape), else now. */
  recentKernel(maxAgeMs = SCRAPE_READING_MAX_AGE_MS): KernelSignals | null {
    const now = this.sampler.now()
    const last = this.#kernel
    if (last !== null && now - last.at >= 0 && now - last.at <= maxAgeMs) return last.value
    const value = this.readKernel()
    this.#kernel = { at: now, value }
    return value
  }

  /** ArrayBuffer bytes read at most `maxAgeMs` ago (by an earlier scrape), else now (`process.memoryUsage()`). */
  recentArrayBuffers(maxAgeMs = SCRAPE_READING_MAX_AGE_MS): number {
    const now = this.sampler.now()
    const last = this.#arrayBuffers
    if (last !== null && now - last.at >= 0 && now - last.at <= maxAgeMs) return last.value
    const value = readProcess().arrayBuffers
    this.#arrayBuffers = { at: now, value }
    return value
  }

  /** The history ring, oldest first. */
  history(): readonly Sample[] {
    return this.sampler.history.toArray()
  }

  /** The core of the report, from a fresh reading. */
  report(): CoreReport {
    return buildCoreReport({ reading: this.read(), kernel: this.readKernel(), gc: this.gc, budget: this.budget, history: this.history() })
  }

  #checkBudget(): Budget {
    const reading = this.latest()
    return checkBudget(reading.v8.heapSizeLimit, reading.container, this.#options.heapRatio)
  }
}
