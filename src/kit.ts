import client, { type Registry, type RegistryContentType } from 'prom-client'
import type { AnyCapabilityDefinition, CapabilityApi, ReportSections, SharedServices } from './capability.js'
import { CAPABILITIES } from './capabilities.js'
import { CapabilitySet } from './capability-set.js'
import { type OomkitOptions, type ResolvedOptions, resolveOptions } from './config.js'
import type { CgroupLocation } from './container/index.js'
import { EventBus, type OomkitEvents } from './events.js'
import {
  type DebugServer,
  type HandlerMountOptions,
  HttpSurface,
  type ListenOptions,
  type OomkitHandler,
  type Route,
  memoryRoute,
  metricsRoute,
  stoppedError,
} from './http/index.js'
import { registerInternals } from './internal.js'
import { type OomkitLogger, defaultLogger } from './logging/logger.js'
import { logBudget, logMemoryLine, thresholdLogger } from './logging/memory-log.js'
import type { Budget } from './memory/budget.js'
import { MemoryCore } from './memory/core.js'
import { SamplingSchedule } from './memory/schedule.js'
import type { CoreReport } from './memory/report.js'
import { ThresholdWatch, memoryFields } from './memory/threshold.js'
import { type AnyCollector, type RegisteredMetrics, coreCollectors, readV8Source, registerMetrics } from './metrics/index.js'

export type { OomkitEvents } from './events.js'
export type { HandlerMountOptions, ListenOptions } from './http/index.js'

/**
 * What `kit.report()` and `GET /debug/memory` return: the core (process, V8, container, budget,
 * history) and one section per capability. A capability that is off has `null` as its section.
 */
export interface MemoryReport extends CoreReport, ReportSections {}

type Lifecycle = 'created' | 'started' | 'stopped'

/** The members capabilities add (`kit.cache`, `kit.leaks`, ...): declared in their folders. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Oomkit extends CapabilityApi {}

/**
 * One oomkit instance. Create it with {@link createOomkit}; nothing runs until `start()`, and
 * `stop()` leaves nothing behind: no timer, observer, metric or handle. The kit is wiring: the
 * memory core, the HTTP surface, and the capabilities listed in `capabilities.ts`.
 */
// The capabilities' members are installed by the constructor, so the merged interface is honest.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Oomkit {
  /** The validated options, frozen. */
  readonly options: ResolvedOptions
  /** The logger oomkit writes to (the app's, or its own pino logger). */
  readonly logger: OomkitLogger
  /** The prom-client registry oomkit registers into. */
  readonly registry: Registry<RegistryContentType>

  #state: Lifecycle = 'created'
  readonly #memory: MemoryCore
  readonly #events: EventBus<OomkitEvents>
  readonly #watch: ThresholdWatch
  readonly #capabilities: CapabilitySet
  readonly #http: HttpSurface
  readonly #schedule: SamplingSchedule
  #metrics: RegisteredMetrics | null = null
  #timers: NodeJS.Timeout[] = []

  /**
   * @param options validated here; a bad one throws `OOMKIT_INVALID_OPTION`.
   * @param capabilities the capability list (`capabilities.ts`); tests pass their own. @internal
   */
  constructor(options?: OomkitOptions, capabilities: readonly AnyCapabilityDefinition[] = CAPABILITIES) {
    this.options = resolveOptions(options)
    this.logger = this.options.logger ?? defaultLogger()
    this.registry = this.options.registry ?? client.register
    this.#events = new EventBus<OomkitEvents>(this.logger)
    this.#memory = new MemoryCore(this.options, (liveBytes, at) => this.#capabilities.onMajorGc({ liveBytes, at }))
    // Logging subscribes first: the line is written before any listener of the app runs.
    this.#watch = new ThresholdWatch(this.options.warnRatio, this.options.criticalRatio)
      .on(thresholdLogger(this.logger))
      .on((c) => this.#events.emit(c.level, c.fields))
    this.#schedule = new SamplingSchedule(
      this.options.sampleIntervalMs,
      Math.min(this.options.fastSampleIntervalMs, this.options.sampleIntervalMs),
      () => this.#tick(),
      (fast, intervalMs, reasons) => {
        this.logger.info({ intervalMs, reasons }, fast ? 'oomkit samples fast: memory is near a limit' : 'oomkit samples at its normal interval again')
      },
    )
    const byKey = this.options as unknown as Record<string, unknown>
    const shared: Partial<SharedServices> = {}
    this.#capabilities = new CapabilitySet(capabilities, this.logger, (def) => ({
      options: byKey[def.option as string],
      core: this.options,
      logger: this.logger,
      memory: this.#memory,
      events: this.#events,
      sampling: this.#schedule,
      shared,
      report: () => this.report(),
    }))
    for (const [key, value] of Object.entries(this.#capabilities.api())) {
      if (key in this) throw new Error(`a capability adds kit.${key}, which the kit has already`)
      Object.defineProperty(this, key, { value, enumerable: false })
    }
    const routes: Route[] = [metricsRoute(() => this.registry, this.logger), memoryRoute(() => this.report(), this.options), ...this.#capabilities.routes()]
    this.#http = new HttpSurface({ routes: () => routes, logger: this.logger }, () => this.#state === 'stopped')
    registerInternals(this, { routes, memory: this.#memory, tick: () => this.#tick(), collectors: () => this.#collectors() })
  }

  /**
   * A `node:http` handler serving `/metrics` and `/debug/*` on the app's own port; it calls
   * `next()` for everything else. Debug routes need a token here unless `allowUnauthenticated`.
   *
   * @example
   * const handle = kit.handler({ token: process.env.OOMKIT_TOKEN })
   * http.createServer((req, res) => handle(req, res, () => app(req, res)))
   */
  handler(options: HandlerMountOptions = {}): OomkitHandler {
    return this.#http.handler(options)
  }

  /**
   * Starts oomkit's own debug server and resolves once it listens. A port in use (or any failure
   * to listen) rejects with `OOMKIT_LISTEN_FAILED` and leaves the app untouched. `stop()` closes it.
   *
   * @example
   * await kit.listen({ port: 9469, host: '127.0.0.1' })   // kubectl port-forward pod/x 9469
   */
  listen(options: ListenOptions = {}): Promise<DebugServer> {
    return this.#http.listen(options)
  }

  /** The debug server's address, once listening. */
  get server(): DebugServer | null {
    return this.#http.server
  }

  /** Whether `start()` ran and `stop()` did not. */
  get running(): boolean {
    return this.#state === 'started'
  }

  /** The memory cgroup this process is in, or null where there is none to read. */
  get cgroup(): CgroupLocation | null {
    return this.#memory.cgroup
  }

  /** The budget check: V8's heap limit against the container limit (computed at start, or now). */
  get budget(): Budget {
    return this.#memory.budget
  }

  /**
   * Starts sampling, the GC observer, the periodic log, the metrics collectors and every
   * capability, and logs the budget verdict once. Every timer is unref'd: oomkit never keeps a
   * process alive. A capability that fails to start is logged and left off; the app runs on.
   */
  start(): this {
    if (this.#state === 'started') return this
    if (this.#state === 'stopped') throw stoppedError()
    this.#state = 'started'
    const { reading, budget } = this.#memory.start()
    logBudget(this.logger, budget)
    const metricsOptions = { prefix: 'oomkit_', timeoutMs: this.options.collectorTimeoutMs, defaultMetrics: this.options.defaultMetrics }
    this.#metrics = registerMetrics(this.registry, this.#collectors(), metricsOptions)
    this.#capabilities.start()
    this.#watch.check(memoryFields(reading, this.#memory.gc.liveAfterGcBytes))
    this.#schedule.setFast('threshold', this.#watch.inEpisode)
    this.#schedule.start()
    if (this.options.logIntervalMs > 0) this.#every(this.options.logIntervalMs, () => this.logMemory())
    return this
  }

  /** Writes the `"memory"` info line now, from the newest sample. */
  logMemory(): void {
    logMemoryLine(this.logger, { ...memoryFields(this.#memory.latest(), this.#memory.gc.liveAfterGcBytes), ...this.#capabilities.logFields() })
  }

  /** The memory report: the same object `GET /debug/memory` returns. Takes a fresh reading. */
  report(): MemoryReport {
    const { history, ...core } = this.#memory.report()
    return { ...core, ...this.#capabilities.sections(), history }
  }

  /** Subscribes to an event. */
  on<E extends keyof OomkitEvents>(event: E, listener: (...args: OomkitEvents[E]) => void): this {
    this.#events.on(event, listener)
    return this
  }

  /** Unsubscribes a listener. */
  off<E extends keyof OomkitEvents>(event: E, listener: (...args: OomkitEvents[E]) => void): this {
    this.#events.off(event, listener)
    return this
  }

  /** Stops everything `start()` started, capabilities in reverse order. Idempotent; the instance cannot be started again. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    this.#schedule.stop()
    this.#memory.stop()
    await this.#capabilities.stop()
    this.#metrics?.unregister()
    this.#metrics = null
    this.#events.clear()
    await this.#http.close()
  }

  /** The core's collectors and every capability's. */
  #collectors(): AnyCollector[] {
    const m = this.#memory
    const arrayBuffers = (): number => m.recentArrayBuffers()
    const core = coreCollectors({
      container: () => m.recentContainer(),
      v8: () => readV8Source(() => m.gc.liveAfterGcBytes, arrayBuffers),
      kernel: () => m.recentKernel(),
      budget: () => m.budget,
    })
    return [...core, ...this.#capabilities.collectors()]
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms)
    timer.unref()
    this.#timers.push(timer)
  }

  /** One sampling tick: a reading, the thresholds (and the watchdog's mode), then each capability. */
  #tick(): void {
    try {
      // Fast samples feed the thresholds and capabilities; the history keeps the normal spacing.
      const { reading, budget } = this.#memory.sample(this.#schedule.fast ? this.options.sampleIntervalMs : 0)
      if (budget !== null) logBudget(this.logger, budget)
      this.#watch.check(memoryFields(reading, this.#memory.gc.liveAfterGcBytes))
      this.#schedule.setFast('threshold', this.#watch.inEpisode)
      this.#capabilities.onSample(reading)
    } catch (err) {
      // A sampling failure must never reach the app's event loop as an uncaught exception.
      this.logger.error({ err }, 'oomkit sampling failed')
    }
  }
}
