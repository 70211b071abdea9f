import { EventEmitter } from 'node:events'
import client, { type Registry, type RegistryContentType } from 'prom-client'
import { type OomkitLogger, type OomkitOptions, type ResolvedOptions, checkKeys, intOption, invalidOption, resolveOptions, tokenOption } from './config.js'
import { type CgroupLocation, locateMemoryCgroup } from './container/index.js'
import { OomkitError } from './errors.js'
import { heapProfileRoutes } from './heap/profile-routes.js'
import { HeapProfiler } from './heap/profiler.js'
import { DISABLED_SNAPSHOT_STATUS, SnapshotGuard } from './heap/snapshot-guard.js'
import { snapshotRoute } from './heap/snapshot-route.js'
import { isLoopbackHost } from './http/auth.js'
import { type DebugServer, type OomkitHandler, type Route, createHandler, memoryRoute, metricsRoute, startServer } from './http/index.js'
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

/** Options of {@link Oomkit.listen}. */
export interface ListenOptions {
  /** Port of the debug server; 0 picks a free one. @default 9469 */
  port?: number
  /** Address to bind. Without a token, debug routes answer only when this is loopback. @default "127.0.0.1" */
  host?: string
  /** Bearer token for `/debug/*`. @default none (loopback only) */
  token?: string
  /** Bearer token for `/metrics`. @default none (open) */
  metricsToken?: string
}

/** Options of {@link Oomkit.handler}: oomkit's routes on the app's own port. */
export interface HandlerMountOptions {
  /** Bearer token for `/debug/*`. Required unless `allowUnauthenticated`. */
  token?: string
  /** Bearer token for `/metrics`. @default none (open) */
  metricsToken?: string
  /** Serve `/metrics` too. @default true */
  metrics?: boolean
  /** Serve `/debug/*` without any auth on the app's port (logs a warning once). @default false */
  allowUnauthenticated?: boolean
}

const LISTEN_KEYS = new Set(['port', 'host', 'token', 'metricsToken'])
const MOUNT_KEYS = new Set(['token', 'metricsToken', 'metrics', 'allowUnauthenticated'])

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
  readonly registry: Registry<RegistryContentType>

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
  #server: DebugServer | null = null
  #listening: Promise<DebugServer> | null = null
  #warnedOpen = false
  readonly #routes: Route[]
  readonly #profiler: HeapProfiler | null
  #profilerError: string | null = null
  readonly #snapshot: SnapshotGuard | null

  constructor(options?: OomkitOptions) {
    this.options = resolveOptions(options)
    this.logger = this.options.logger ?? defaultLogger()
    this.registry = this.options.registry ?? client.register
    this.#watch = new ThresholdWatch(this.logger, this.options.warnRatio, this.options.criticalRatio, (level, fields) => {
      this.#emit(level, fields)
    })
    this.#routes = [metricsRoute(() => this.registry, this.logger), memoryRoute(() => this.report())]
    this.#profiler = this.options.heapProfile === false ? null : new HeapProfiler(this.options.heapProfile)
    const stoppedReason = (): string | null => this.#profilerError ?? (this.#state === 'stopped' ? 'this oomkit instance is stopped' : null)
    for (const route of heapProfileRoutes({ profiler: () => this.#profiler, reason: stoppedReason })) this.addRoute(route)
    const snap = this.options.snapshot
    this.#snapshot = snap === false ? null : new SnapshotGuard({ ...snap, diagnosticsDir: this.options.diagnosticsDir, procRoot: this.options.procRoot, logger: this.logger, readContainer: () => this.sampler.readContainer() })
    if (this.#snapshot !== null) this.#routes.push(snapshotRoute(this.#snapshot))
  }

  /** oomkit's HTTP routes; capabilities add theirs with {@link Oomkit.addRoute}. */
  get routes(): readonly Route[] {
    return this.#routes
  }

  /** Adds a route to every handler and server of this instance (replacing one at the same path). */
  addRoute(route: Route): void {
    const i = this.#routes.findIndex((r) => r.path === route.path)
    if (i >= 0) this.#routes[i] = route
    else this.#routes.push(route)
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
    const o = checkKeys('handler options', options, MOUNT_KEYS)
    const token = tokenOption('token', o.token)
    const metricsToken = tokenOption('metricsToken', o.metricsToken)
    if (o.metrics !== undefined && typeof o.metrics !== 'boolean') invalidOption('metrics', 'true or false', o.metrics)
    if (o.allowUnauthenticated !== undefined && typeof o.allowUnauthenticated !== 'boolean') invalidOption('allowUnauthenticated', 'true or false', o.allowUnauthenticated)
    const open = o.allowUnauthenticated === true && token === undefined
    if (open && !this.#warnedOpen) {
      this.#warnedOpen = true
      this.logger.warn({ code: 'OOMKIT_UNAUTHENTICATED_DEBUG' }, 'oomkit debug routes are served on the app port WITHOUT authentication (allowUnauthenticated: true): anyone who reaches the port can take heap snapshots; set a token instead')
    }
    return createHandler(
      { routes: () => this.#routes, logger: this.logger },
      { token, metricsToken, loopbackListener: false, metrics: o.metrics !== false, open },
    )
  }

  /**
   * Starts oomkit's own debug server and resolves once it listens. A port in use (or any failure
   * to listen) rejects with `OOMKIT_LISTEN_FAILED` and leaves the app untouched. `stop()` closes it.
   *
   * @example
   * await kit.listen({ port: 9469, host: '127.0.0.1' })   // kubectl port-forward pod/x 9469
   */
  async listen(options: ListenOptions = {}): Promise<DebugServer> {
    const o = checkKeys('listen options', options, LISTEN_KEYS)
    const port = intOption('port', o.port, 9469, 0, 65535)
    if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0)) invalidOption('host', 'a host name or IP address', o.host)
    const host = (o.host as string | undefined) ?? '127.0.0.1'
    const token = tokenOption('token', o.token)
    const metricsToken = tokenOption('metricsToken', o.metricsToken)
    if (this.#state === 'stopped') throw new OomkitError('OOMKIT_STOPPED', 'This oomkit instance was stopped; create a new one with createOomkit()')
    if (this.#listening !== null) {
      throw new OomkitError('OOMKIT_LISTEN_FAILED', `oomkit debug server is already listening${this.#server === null ? '' : ` at ${this.#server.url}`}; stop() first`)
    }
    const handler = createHandler(
      { routes: () => this.#routes, logger: this.logger },
      { token, metricsToken, loopbackListener: isLoopbackHost(host) },
    )
    this.#listening = startServer(handler, port, host, this.logger)
    try {
      const server = await this.#listening
      if ((this.#state as Lifecycle) === 'stopped') {
        await server.close()
        throw new OomkitError('OOMKIT_STOPPED', 'stop() was called while the debug server was starting')
      }
      this.#server = server
      if (token === undefined && !isLoopbackHost(host)) {
        this.logger.warn({ url: server.url, auth: 'none-configured' }, 'oomkit debug server listening on a non-loopback address without a token: /debug/* answers 403 until a token is set (OOMKIT_TOKEN or listen({ token }))')
      } else {
        this.logger.info({ url: server.url, auth: token === undefined ? 'loopback-only' : 'token' }, 'oomkit debug server listening')
      }
      return server
    } catch (err) {
      this.#listening = null
      throw err
    }
  }

  /** The debug server's address, once listening. */
  get server(): DebugServer | null {
    return this.#server
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
    this.#startProfiler()
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
    if (this.#snapshot !== null) {
      this.#metrics.add(this.#snapshot.metrics)
      this.#snapshot.start()
    }

    this.#watch.check(memoryLogFields(reading, this.#gc.state.liveAfterGcBytes))
    this.#sampleTimer = setInterval(() => this.#tick(), this.options.sampleIntervalMs)
    this.#sampleTimer.unref()
    if (this.options.logIntervalMs > 0) {
      this.#logTimer = setInterval(() => this.logMemory(), this.options.logIntervalMs)
      this.#logTimer.unref()
    }
    return this
  }

  /** Starts the sampling heap profiler; a failure is logged, never thrown: the app runs on without it. */
  #startProfiler(): void {
    const profiler = this.#profiler
    if (profiler === null) return
    try {
      profiler.start()
      this.logger.info({ backend: profiler.backend, intervalBytes: profiler.intervalBytes, shared: profiler.shared }, 'sampling heap profiler on')
    } catch (err) {
      this.#profilerError = err instanceof Error ? err.message : String(err)
      this.logger.warn({ err }, 'sampling heap profiler could not start: /debug/pprof/heap and /debug/memory/top are off')
    }
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
      profile: this.#profiler?.reportSection() ?? null,
      snapshot: this.#snapshot?.status() ?? DISABLED_SNAPSHOT_STATUS,
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
    this.#profiler?.stop()
    this.#metrics?.unregister()
    this.#metrics = null
    this.#events.removeAllListeners()
    const server = this.#server
    this.#server = null
    this.#listening = null
    await server?.close()
  }

  #checkBudget(): Budget {
    const reading = this.sampler.latest()
    return checkBudget(reading.v8.heapSizeLimit, reading.container, this.options.heapRatio)
  }
}
