import client, { type Registry, type RegistryContentType } from 'prom-client'
import { ANNOUNCED_SECTIONS, type Capability, type MajorGc, type MemoryView, type ReportSections } from './capability.js'
import { CAPABILITIES } from './capabilities.js'
import { type OomkitOptions, type ResolvedOptions, resolveOptions } from './config.js'
import { type CgroupLocation, locateMemoryCgroup } from './container/index.js'
import { EventBus, type OomkitEvents } from './events.js'
import { type DebugServer, type HandlerMountOptions, HttpSurface, type ListenOptions, type OomkitHandler, type Route, memoryRoute, metricsRoute, stoppedError } from './http/index.js'
import { registerInternals } from './internal.js'
import { type OomkitLogger, defaultLogger } from './logging/logger.js'
import { logBudget, logMemoryLine, thresholdLogger } from './logging/memory-log.js'
import { type Budget, checkBudget } from './memory/budget.js'
import { GcObserver } from './memory/gc-observer.js'
import { type CoreReport, buildCoreReport } from './memory/report.js'
import { type Reading, Sampler } from './memory/sampler.js'
import { ThresholdWatch, memoryFields } from './memory/threshold.js'
import { type RegisteredMetrics, coreCollectors, readV8Source, registerMetrics } from './metrics/index.js'

export type { OomkitEvents } from './events.js'
export type { HandlerMountOptions, ListenOptions } from './http/index.js'

/**
 * What `kit.report()` and `GET /debug/memory` return: the core (process, V8, container, budget,
 * history) and one section per capability. A capability that is off has `null` as its section.
 */
export interface MemoryReport extends CoreReport, ReportSections {}

type Lifecycle = 'created' | 'started' | 'stopped'
type Hook = 'onSample' | 'onMajorGc'

interface Running {
  readonly name: string
  readonly section: keyof ReportSections
  readonly capability: Capability<unknown>
}

/**
 * One oomkit instance. Create it with {@link createOomkit}; nothing runs until `start()`, and
 * `stop()` leaves nothing behind: no timer, observer, metric or handle. The kit is wiring: the
 * core's sampler and GC observer, and the capabilities of `capabilities.ts`.
 */
export class Oomkit {
  /** The validated options, frozen. */
  readonly options: ResolvedOptions
  /** The logger oomkit writes to (the app's, or its own pino logger). */
  readonly logger: OomkitLogger
  /** The prom-client registry oomkit registers into. */
  readonly registry: Registry<RegistryContentType>

  #state: Lifecycle = 'created'
  #location: CgroupLocation | null | undefined
  #sampler: Sampler | null = null
  readonly #gc: GcObserver
  readonly #events: EventBus<OomkitEvents>
  readonly #watch: ThresholdWatch
  readonly #capabilities: readonly Running[]
  readonly #routes: Route[]
  #metrics: RegisteredMetrics | null = null
  #budget: Budget | null = null
  #timers: NodeJS.Timeout[] = []
  readonly #http: HttpSurface

  constructor(options?: OomkitOptions) {
    this.options = resolveOptions(options)
    this.logger = this.options.logger ?? defaultLogger()
    this.registry = this.options.registry ?? client.register
    this.#events = new EventBus<OomkitEvents>(this.logger)
    this.#gc = new GcObserver((liveBytes, at) => this.#fanOut('onMajorGc', { liveBytes, at }))
    // Logging subscribes first: the line is on disk before any listener of the app runs.
    this.#watch = new ThresholdWatch(this.options.warnRatio, this.options.criticalRatio)
      .on(thresholdLogger(this.logger))
      .on((c) => this.#events.emit(c.level, c.fields))
    const memory: MemoryView = {
      latest: () => this.#samplerNow().latest(),
      read: () => this.#samplerNow().read(),
      readContainer: () => this.#samplerNow().readContainer(),
      gc: this.#gc.state,
      history: () => this.#samplerNow().history.toArray(),
    }
    this.#capabilities = CAPABILITIES.map((def) => ({
      name: def.name,
      section: def.section,
      capability: def.create({ options: (this.options as unknown as Record<string, unknown>)[def.option as string], core: this.options, logger: this.logger, memory, events: this.#events }),
    }))
    this.#routes = [metricsRoute(() => this.registry, this.logger), memoryRoute(() => this.report())]
    for (const { capability } of this.#capabilities) this.#routes.push(...(capability.routes ?? []))
    const routes = this.#routes
    this.#http = new HttpSurface({ routes: () => routes, logger: this.logger }, () => this.#state === 'stopped')
    const sampler = (): Sampler => this.#samplerNow()
    registerInternals(this, {
      routes,
      addRoute(route) {
        if (routes.some((r) => r.path === route.path)) throw new Error(`a route at ${route.path} exists already`)
        routes.push(route)
      },
      get sampler() {
        return sampler()
      },
    })
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
    if (this.#location === undefined) this.#location = locateMemoryCgroup(this.options.procRoot, this.options.cgroupRoot)
    return this.#location
  }

  /** The budget check: V8's heap limit against the container limit (computed at start, or now). */
  get budget(): Budget {
    return this.#budget ?? this.#checkBudget()
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
    this.#gc.start()
    const reading = this.#samplerNow().sample()
    this.#budget = this.#checkBudget()
    logBudget(this.logger, this.#budget)
    const collectors = coreCollectors({
      container: () => this.#samplerNow().readContainer(),
      v8: () => readV8Source(() => this.#gc.state.liveAfterGcBytes),
    })
    for (const { capability } of this.#capabilities) collectors.push(...(capability.collectors ?? []))
    this.#metrics = registerMetrics(this.registry, collectors, { prefix: 'oomkit_', timeoutMs: this.options.collectorTimeoutMs, defaultMetrics: this.options.defaultMetrics })
    for (const { name, capability } of this.#capabilities) {
      try {
        capability.start?.()
      } catch (err) {
        this.logger.error({ err, capability: name }, `oomkit capability ${name} failed to start; it stays off and the app runs on`)
      }
    }
    this.#watch.check(memoryFields(reading, this.#gc.state.liveAfterGcBytes))
    this.#every(this.options.sampleIntervalMs, () => this.#tick())
    if (this.options.logIntervalMs > 0) this.#every(this.options.logIntervalMs, () => this.logMemory())
    return this
  }

  /** Writes the `"memory"` info line now, from the newest sample. */
  logMemory(): void {
    logMemoryLine(this.logger, memoryFields(this.#samplerNow().latest(), this.#gc.state.liveAfterGcBytes))
  }

  /** The memory report: the same object `GET /debug/memory` returns. Takes a fresh reading. */
  report(): MemoryReport {
    const sampler = this.#samplerNow()
    const { history, ...core } = buildCoreReport({ reading: sampler.read(), gc: this.#gc.state, budget: this.budget, history: sampler.history.toArray() })
    const sections: Record<string, unknown> = { ...ANNOUNCED_SECTIONS }
    for (const { section, capability } of this.#capabilities) sections[section] = capability.section()
    return { ...core, ...sections, history } as MemoryReport
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
    this.#gc.stop()
    for (const { name, capability } of [...this.#capabilities].reverse()) {
      try {
        await capability.stop?.()
      } catch (err) {
        this.logger.error({ err, capability: name }, `oomkit capability ${name} failed to stop cleanly`)
      }
    }
    this.#metrics?.unregister()
    this.#metrics = null
    this.#events.clear()
    await this.#http.close()
  }

  #samplerNow(): Sampler {
    this.#sampler ??= new Sampler(this.cgroup, this.options.historySize, () => this.#gc.state.liveAfterGcBytes)
    return this.#sampler
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms)
    timer.unref()
    this.#timers.push(timer)
  }

  /** One sampling tick: a reading, the thresholds, then each capability. */
  #tick(): void {
    try {
      const reading = this.#samplerNow().sample()
      this.#watch.check(memoryFields(reading, this.#gc.state.liveAfterGcBytes))
      this.#fanOut('onSample', reading)
    } catch (err) {
      // A sampling failure must never reach the app's event loop as an uncaught exception.
      this.logger.error({ err }, 'oomkit sampling failed')
    }
  }

  #fanOut(hook: 'onSample', arg: Reading): void
  #fanOut(hook: 'onMajorGc', arg: MajorGc): void
  #fanOut(hook: Hook, arg: Reading | MajorGc): void {
    for (const { name, capability } of this.#capabilities) {
      try {
        ;(capability[hook] as ((a: Reading | MajorGc) => void) | undefined)?.call(capability, arg)
      } catch (err) {
        this.logger.error({ err, capability: name, hook }, `oomkit capability ${name} failed in ${hook}`)
      }
    }
  }

  #checkBudget(): Budget {
    const reading = this.#samplerNow().latest()
    return checkBudget(reading.v8.heapSizeLimit, reading.container, this.options.heapRatio)
  }
}
