import { EventEmitter } from 'node:events'
import client, { type Registry } from 'prom-client'
import { type OomkitLogger, type OomkitOptions, type ResolvedOptions, resolveOptions } from './config.js'
import { type CgroupLocation, locateMemoryCgroup } from './container/index.js'
import { OomkitError } from './errors.js'
import { defaultLogger } from './logging/logger.js'
import { type MemoryLogFields, ThresholdWatch, memoryLogFields } from './logging/memory-log.js'
import { type Budget, checkBudget } from './memory/budget.js'
import { GcObserver } from './memory/gc-observer.js'
import { type MemoryReport, buildReport } from './memory/report.js'
import { Sampler } from './memory/sampler.js'
import { type RegisteredMetrics, readV8Source, registerMetrics } from './metrics/index.js'

/** Events an instance emits. */
export interface OomkitEvents {
  /** The working set crossed `warnRatio` of the limit (once per episode). */
  warn: [fields: MemoryLogFields]
  /** The working set crossed `criticalRatio` of the limit (once per episode). */
  critical: [fields: MemoryLogFields]
}

type Lifecycle = 'created' | 'started' | 'stopped'

/**
 * One oomkit instance. Create it with {@link createOomkit}; nothing runs until `start()`, and
 * `stop()` leaves nothing behind: no timer, observer, metric or handle.
 */
export class Oomkit {
  /** The validated options, frozen. */
  readonly options: ResolvedOptions
  /** The logger oomkit writes to (the app's, or its own pino logger). */
  readonly logger: OomkitLogger
  /** The prom-client registry oomkit registers into. */
  readonly registry: Registry

  #state: Lifecycle = 'created'
  #location: CgroupLocation | null | undefined
  #sampler: Sampler | null = null
  readonly #gc = new GcObserver()
  readonly #events = new EventEmitter()
  #metrics: RegisteredMetrics | null = null
  #budget: Budget | null = null
  #sampleTimer: NodeJS.Timeout | null = null
  #logTimer: NodeJS.Timeout | null = null
  #watch: ThresholdWatch

  constructor(options?: OomkitOptions) {
    this.options = resolveOptions(options)
    this.logger = this.options.logger ?? defaultLogger()
    this.registry = this.options.registry ?? client.register
    this.#watch = new ThresholdWatch(this.logger, this.options.warnRatio, this.options.criticalRatio, (level, fields) => {
      this.#emit(level, fields)
    })
  }

  /** Whether `start()` ran and `stop()` did not. */
  get running(): boolean {
    return this.#state === 'started'
  }

  /** The memory cgroup this process is in, or null where there is none to read. */
  get cgroup(): CgroupLocation | null {
    if (this.#location === undefined) this.#location = locateMemoryCgroup(this.options.procRoot, this.options.cgroupRoot)
    return this.#location
  }

  /** The sampler (created on first use). */
  get sampler(): Sampler {
    this.#sampler ??= new Sampler(this.cgroup, this.options.historySize, () => this.#gc.state.liveAfterGcBytes)
    return this.#sampler
  }

  /** The budget check: V8's heap limit against the container limit (computed at start, or now). */
  get budget(): Budget {
    return this.#budget ?? this.#checkBudget()
  }

  /**
   * Starts sampling, the GC observer, the periodic log and the metrics collectors, and logs the
   * budget verdict once. Every timer is unref'd: oomkit never keeps a process alive.
   */
  start(): this {
    if (this.#state === 'started') return this
    if (this.#state === 'stopped') throw new OomkitError('OOMKIT_STOPPED', 'This oomkit instance was stopped; create a new one with createOomkit()')
    this.#state = 'started'
    this.#gc.start()
    const reading = this.sampler.sample()
    this.#budget = this.#checkBudget()
    const b = this.#budget
    const budgetFields = { verdict: b.verdict, heapLimit: b.heapLimitBytes, limit: b.containerLimitBytes, recommendedMaxOldSpaceSizeMb: b.recommendedMaxOldSpaceSizeMb }
    if (b.verdict === 'heap-limit-exceeds-container') this.logger.warn(budgetFields, b.message)
    else this.logger.info(budgetFields, b.message)

    this.#metrics = registerMetrics(
      this.registry,
      {
        container: () => this.sampler.readContainer(),
        v8: () => readV8Source(() => this.#gc.state.liveAfterGcBytes),
      },
      { prefix: 'oomkit_', timeoutMs: this.options.collectorTimeoutMs, defaultMetrics: this.options.defaultMetrics },
    )

    this.#watch.check(memoryLogFields(reading, this.#gc.state.liveAfterGcBytes))
    this.#sampleTimer = setInterval(() => this.#tick(), this.options.sampleIntervalMs)
    this.#sampleTimer.unref()
    if (this.options.logIntervalMs > 0) {
      this.#logTimer = setInterval(() => this.logMemory(), this.options.logIntervalMs)
      this.#logTimer.unref()
    }
    return this
  }

  /** Takes one sample now (what the interval timer does). */
  #tick(): void {
    try {
      const reading = this.sampler.sample()
      this.#watch.check(memoryLogFields(reading, this.#gc.state.liveAfterGcBytes))
    } catch (err) {
      // A sampling failure must never reach the app's event loop as an uncaught exception.
      this.logger.error({ err }, 'oomkit sampling failed')
    }
  }

  /** Writes the `"memory"` info line now, from the newest sample. */
  logMemory(): void {
    const reading = this.sampler.latest()
    this.logger.info(memoryLogFields(reading, this.#gc.state.liveAfterGcBytes), 'memory')
  }

  /** The memory report: the same object `GET /debug/memory` returns. Takes a fresh reading. */
  report(): MemoryReport {
    return buildReport({
      reading: this.sampler.read(),
      gc: this.#gc.state,
      budget: this.budget,
      history: this.sampler.history.toArray(),
    })
  }

  /** Subscribes to an event. */
  on<E extends keyof OomkitEvents>(event: E, listener: (...args: OomkitEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void)
    return this
  }

  /** Unsubscribes a listener. */
  off<E extends keyof OomkitEvents>(event: E, listener: (...args: OomkitEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void)
    return this
  }

  #emit<E extends keyof OomkitEvents>(event: E, ...args: OomkitEvents[E]): void {
    try {
      this.#events.emit(event, ...args)
    } catch (err) {
      this.logger.error({ err, event }, 'an oomkit event listener threw')
    }
  }

  /** Stops everything `start()` started. Idempotent; the instance cannot be started again. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    if (this.#sampleTimer !== null) clearInterval(this.#sampleTimer)
    if (this.#logTimer !== null) clearInterval(this.#logTimer)
    this.#sampleTimer = null
    this.#logTimer = null
    this.#gc.stop()
    this.#metrics?.unregister()
    this.#metrics = null
    this.#events.removeAllListeners()
  }

  #checkBudget(): Budget {
    const reading = this.sampler.latest()
    return checkBudget(reading.v8.heapSizeLimit, reading.container, this.options.heapRatio)
  }
}
