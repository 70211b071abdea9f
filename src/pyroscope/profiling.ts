import { OomkitError, messageOf } from '../errors.js'
import { HeapProfiler, type HeapProfilerBackend } from '../heap/profile/index.js'
import type { OomkitLogger } from '../logging/logger.js'
import { type LoadedPyroscope, type WallSource, loadPyroscope } from './module.js'
import type { ResolvedPyroscopeOptions } from './options.js'
import { type ProfileKind, applicationName } from './protocol.js'
import { IngestUploader, type LastUpload, type OutcomeCounts } from './uploader.js'

/** The report's `pyroscope` section. */
export interface PyroscopeSection {
  /** Whether profiles are being sent. */
  readonly running: boolean
  /** Why not, when it failed to start; null otherwise. */
  readonly error: string | null
  readonly serverAddress: string
  readonly appName: string
  /** Every tag the profiles carry (the default pod tags and the configured ones). */
  readonly tags: Readonly<Record<string, string>>
  /** The profiles sent: `heap` (from oomkit's sampler), `wall` (from `@pyroscope/nodejs`). */
  readonly profiles: readonly ProfileKind[]
  readonly flushIntervalMs: number
  /** The heap sampler the heap profile comes from: one per process, shared with `heapProfile`; null without the heap profile. */
  readonly heap: { readonly backend: HeapProfilerBackend; readonly intervalBytes: number; readonly shared: boolean } | null
  /** The `@pyroscope/nodejs` version running the wall profile; null before start. */
  readonly pyroscopeVersion: string | null
  /** Uploads by profile and outcome since start. */
  readonly uploads: Readonly<Record<ProfileKind, Readonly<OutcomeCounts>>>
  readonly lastUpload: Readonly<Record<ProfileKind, LastUpload | null>>
}

// `@pyroscope/nodejs` keeps one profiler per process (its module singleton) and V8 one CPU
// profiler's worth of wall sampling: one oomkit instance at a time drives it.
const active = new Set<PyroscopeProfiling>()

/** Options of {@link PyroscopeProfiling}. */
export interface PyroscopeProfilingDeps {
  readonly options: ResolvedPyroscopeOptions
  /** The tags every profile carries (see `effectiveTags`). */
  readonly tags: Readonly<Record<string, string>>
  readonly logger: OomkitLogger
  /** Clock of the rate-limited warnings. @default Date.now */
  readonly now?: () => number
}

/**
 * Continuous profiling to Pyroscope. Every `flushIntervalMs` (one unref'd timer) it takes the
 * wall profile from `@pyroscope/nodejs`'s wall profiler and the heap profile from oomkit's one V8
 * heap sampler (a {@link HeapProfiler} that joins the process's shared sampler, so `/debug/pprof/heap`
 * and Pyroscope read the same samples at the same interval), and hands both to a bounded
 * {@link IngestUploader}. `stop()` sends the last profiles, waits for the uploads (each bounded by
 * `uploadTimeoutMs`) and stops the wall profiler; V8's heap sampler stops only when its last user does.
 */
export class PyroscopeProfiling {
  readonly #deps: PyroscopeProfilingDeps
  readonly #uploader: IngestUploader
  #pyroscope: LoadedPyroscope | null = null
  #wall: WallSource | null = null
  #heap: HeapProfiler | null = null
  #heapFrom = new Date()
  #timer: NodeJS.Timeout | null = null
  #state: 'created' | 'running' | 'stopped' = 'created'
  #error: string | null = null

  constructor(deps: PyroscopeProfilingDeps) {
    this.#deps = deps
    this.#uploader = new IngestUploader({
      options: deps.options,
      name: applicationName(deps.options.appName, deps.tags),
      logger: deps.logger,
      process: (profile) => this.#pyroscope?.processProfile(profile) ?? profile,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    })
  }

  /** Whether profiles are being sent. */
  get running(): boolean {
    return this.#state === 'running'
  }

  /** The uploader (its counts feed `oomkit_profile_uploads_total`). */
  get uploader(): IngestUploader {
    return this.#uploader
  }

  /**
   * Loads and starts `@pyroscope/nodejs`'s wall profiler and joins V8's heap sampler. Throws
   * `OOMKIT_PYROSCOPE_UNAVAILABLE` (missing package, another instance running it) and leaves
   * nothing started when it does.
   */
  start(): void {
    if (this.#state !== 'created') return
    const { options, logger } = this.#deps
    try {
      if (active.size > 0)
        throw new OomkitError(
          'OOMKIT_PYROSCOPE_UNAVAILABLE',
          'Pyroscope profiling cannot start: another oomkit instance in this process sends profiles to Pyroscope already',
        )
      this.#pyroscope = loadPyroscope(options, this.#deps.tags)
      if (options.heap !== false)
        this.#heap = new HeapProfiler({ intervalBytes: options.heap.samplingIntervalBytes, stackDepth: options.heap.stackDepth }).start()
      if (options.wall !== false) {
        this.#wall = this.#pyroscope.wall
        this.#wall.start()
      }
    } catch (err) {
      this.#heap?.stop()
      this.#heap = null
      this.#wall = null
      this.#state = 'stopped'
      this.#error = messageOf(err)
      throw err
    }
    active.add(this)
    this.#state = 'running'
    this.#heapFrom = new Date()
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs)
    this.#timer.unref()
    const heap = this.#heap
    logger.info(
      {
        serverAddress: options.serverAddress,
        appName: options.appName,
        tags: this.#deps.tags,
        profiles: this.#profiles(),
        flushIntervalMs: options.flushIntervalMs,
        pyroscopeVersion: this.#pyroscope.version,
        ...(heap === null ? {} : { heapBackend: heap.backend, heapIntervalBytes: heap.intervalBytes, heapShared: heap.shared }),
      },
      'Pyroscope continuous profiling on',
    )
    if (heap !== null && options.heap !== false && heap.intervalBytes !== options.heap.samplingIntervalBytes) {
      logger.info(
        { askedBytes: options.heap.samplingIntervalBytes, intervalBytes: heap.intervalBytes },
        "Pyroscope's heap profile comes from oomkit's one V8 heap sampler, which keeps the interval it was started with",
      )
    }
    if (heap?.backend === 'inspector') {
      logger.warn(
        { heapBackend: 'inspector' },
        'the heap sampler runs through node:inspector (@datadog/pprof did not load): every heap profile sent to Pyroscope forces a full GC',
      )
    }
  }

  /**
   * One round now: takes the wall and heap profiles since the last one and starts their uploads;
   * resolves when those uploads have settled. The timer calls it every `flushIntervalMs`.
   */
  flush(): Promise<void> {
    if (this.#state !== 'running') return Promise.resolve()
    return Promise.all([this.#sendWall(false), this.#sendHeap(false)]).then(() => undefined)
  }

  /** Sends the last profiles, waits for every upload (each bounded), stops the profilers. Idempotent; never throws. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') {
      this.#state = 'stopped'
      return
    }
    this.#state = 'stopped'
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    active.delete(this)
    await Promise.all([this.#sendWall(true), this.#sendHeap(true)])
    this.#heap?.stop()
    this.#heap = null
    this.#wall = null
    await this.#uploader.settle()
    this.#uploader.flushWarnings()
  }

  /** The report's section. */
  section(): PyroscopeSection {
    const { options } = this.#deps
    const heap = this.#heap
    return {
      running: this.running,
      error: this.#error,
      serverAddress: options.serverAddress,
      appName: options.appName,
      tags: this.#deps.tags,
      profiles: this.#profiles(),
      flushIntervalMs: options.flushIntervalMs,
      heap: heap === null ? null : { backend: heap.backend, intervalBytes: heap.intervalBytes, shared: heap.shared },
      pyroscopeVersion: this.#pyroscope?.version ?? null,
      uploads: this.#uploader.counts,
      lastUpload: { heap: this.#uploader.last('heap'), wall: this.#uploader.last('wall') },
    }
  }

  #profiles(): ProfileKind[] {
    const { options } = this.#deps
    return [...(options.heap === false ? [] : ['heap' as const]), ...(options.wall === false ? [] : ['wall' as const])]
  }

  async #sendWall(final: boolean): Promise<void> {
    const wall = this.#wall
    if (wall === null) return
    let exported
    try {
      // A busy round still takes the profile: it restarts the window, so none grows unbounded.
      exported = final ? wall.stop() : wall.profile()
    } catch (err) {
      this.#uploader.fail('wall', err)
      return
    }
    if (exported === null) return
    if (!final && this.#uploader.busy('wall')) return this.#uploader.drop('wall')
    await this.#uploader.send('wall', exported.profile, { from: exported.startedAt, until: exported.stoppedAt, sampleRate: exported.sampleRate }, final)
  }

  async #sendHeap(final: boolean): Promise<void> {
    const heap = this.#heap
    if (heap === null) return
    // The heap profile is a picture of what lives now: a busy round skips reading it at all.
    if (!final && this.#uploader.busy('heap')) return this.#uploader.drop('heap')
    const from = this.#heapFrom
    const until = new Date()
    this.#heapFrom = until
    let profile
    try {
      profile = await heap.profile()
    } catch (err) {
      this.#uploader.fail('heap', err)
      return
    }
    await this.#uploader.send('heap', profile, { from, until }, final)
  }
}
