import type { Profile } from 'pprof-format'
import { OomkitError, messageOf } from '../../errors.js'
import { type AllocationNode, encodeHeapProfile } from './pprof.js'
import { datadogHeapRunning, datadogLoadError, loadDatadogHeap, startDatadogSampler } from './datadog.js'
import { isV8SamplerRunning, loadInspector, startInspectorSampler } from './inspector.js'
import type { HeapProfilerBackend, V8Sampler } from './sampler.js'
import { type TopSite, topSites } from './top-sites.js'

export type { HeapProfilerBackend, V8Sampler } from './sampler.js'

/** Options of {@link HeapProfiler}. */
export interface HeapProfilerOptions {
  /** Average bytes allocated between two samples. @default 524288 */
  readonly intervalBytes?: number
  /** Deepest stack recorded per sample (`@datadog/pprof` only; the inspector records 128). @default 64 */
  readonly stackDepth?: number
  /** `auto` prefers `@datadog/pprof` and falls back to `node:inspector`; tests force one. @default "auto" */
  readonly backend?: 'auto' | HeapProfilerBackend
  /** Clock for the report's profile cache, in ms. @default Date.now */
  readonly now?: () => number
}

/** The `profile` section of the memory report. */
export interface HeapProfileSection {
  readonly backend: HeapProfilerBackend
  readonly intervalBytes: number
  readonly stackDepth: number
  /** V8's sampler was already running (another oomkit instance, or started outside oomkit). */
  readonly shared: boolean
  /** Each fetch forces a full GC (inspector backend): the report then reuses a profile up to 30 s old. */
  readonly forcesGcPerFetch: boolean
  /** The top allocation sites, as `GET /debug/memory/top?limit=10` lists them. */
  readonly topSites: readonly TopSite[]
  /** When the profile behind `topSites` was read, or null when it could not be. */
  readonly topSitesAt: string | null
  /** Why the profile could not be read, or null. */
  readonly error: string | null
}

/** How old a forced-GC profile the report may reuse. */
const REPORT_MAX_AGE_MS = 30_000
const REPORT_TOP = 10

// V8 has one sampling heap profiler per isolate: a second start is silently ignored and any
// stop ends it for everyone. So oomkit holds it once per process and counts its users.
let shared: { sampler: V8Sampler; refs: number } | null = null

function unavailable(message: string): OomkitError {
  return new OomkitError('OOMKIT_PROFILER_OFF', `The heap profiler cannot start: ${message}`)
}

function openSampler(backend: 'auto' | HeapProfilerBackend, intervalBytes: number, stackDepth: number): V8Sampler {
  const heap = backend === 'inspector' ? null : loadDatadogHeap()
  if (backend === 'datadog' && heap === null) throw unavailable(`@datadog/pprof did not load (${datadogLoadError() ?? 'unknown reason'})`)
  if (isV8SamplerRunning() === true) {
    // Someone outside oomkit runs V8's sampler: read theirs, never restart or stop it.
    if (heap !== null && datadogHeapRunning(heap)) return startDatadogSampler(heap, intervalBytes, stackDepth, true)
    if (backend === 'datadog') throw unavailable("V8's sampler was started by something other than this @datadog/pprof")
    return startInspectorSampler(intervalBytes, true)
  }
  if (heap !== null) return startDatadogSampler(heap, intervalBytes, stackDepth, false)
  if (loadInspector() === null) throw unavailable('@datadog/pprof did not load and node:inspector is not available')
  return startInspectorSampler(intervalBytes, false)
}

/**
 * The one owner of V8's sampling heap profiler in this process. Two backends behind one
 * interface: `@datadog/pprof` when its native add-on loads (reads without a GC), else an
 * in-process `node:inspector` session, **which forces a full mark-compact GC on every fetch**
 * (~64 ms at a 100 MB heap): fetch on demand, never on a timer.
 *
 * Every instance shares one sampler: the first `start()` starts V8's sampler (or adopts one that
 * Pyroscope or anyone else started), the last `stop()` of those that started it stops it.
 *
 * @example
 * const profiler = new HeapProfiler({ intervalBytes: 512 * 1024 }).start()
 * const gz = gzipSync((await profiler.profile()).encode())   // go tool pprof reads it
 * profiler.stop()
 */
export class HeapProfiler {
  readonly #intervalBytes: number
  readonly #stackDepth: number
  readonly #backend: 'auto' | HeapProfilerBackend
  readonly #now: () => number
  #sampler: V8Sampler | null = null
  #shared = false
  #cached: { at: number; sites: readonly TopSite[] } | null = null

  constructor(options: HeapProfilerOptions = {}) {
    this.#intervalBytes = options.intervalBytes ?? 524_288
    this.#stackDepth = options.stackDepth ?? 64
    this.#backend = options.backend ?? 'auto'
    this.#now = options.now ?? Date.now
  }

  /** The backend in use; before `start()`, the one `start()` would pick. */
  get backend(): HeapProfilerBackend {
    if (this.#sampler !== null) return this.#sampler.backend
    if (this.#backend !== 'auto') return this.#backend
    return loadDatadogHeap() === null ? 'inspector' : 'datadog'
  }

  /** Average bytes between samples; once started, the interval V8 really samples at. */
  get intervalBytes(): number {
    return this.#sampler?.intervalBytes ?? this.#intervalBytes
  }

  /** Deepest stack recorded per sample. */
  get stackDepth(): number {
    return this.#sampler?.stackDepth ?? this.#stackDepth
  }

  /** Whether `start()` ran and `stop()` did not. */
  get running(): boolean {
    return this.#sampler !== null
  }

  /** Whether V8's sampler was already running when this instance started (and is not its to stop). */
  get shared(): boolean {
    return this.#shared
  }

  /**
   * Starts V8's sampler, or joins the one running. Throws `OOMKIT_PROFILER_OFF` when no backend
   * can run (or the forced one cannot, or another backend already holds the sampler).
   */
  start(): this {
    if (this.#sampler !== null) return this
    if (shared === null) {
      const sampler = openSampler(this.#backend, this.#intervalBytes, this.#stackDepth)
      shared = { sampler, refs: 0 }
      this.#shared = sampler.external
    } else {
      if (this.#backend !== 'auto' && shared.sampler.backend !== this.#backend) {
        throw unavailable(`the ${this.#backend} backend was asked for, but V8's sampler is held through ${shared.sampler.backend}`)
      }
      this.#shared = true
    }
    shared.refs++
    this.#sampler = shared.sampler
    return this
  }

  /** Leaves the shared sampler; the last user stops it. Idempotent. */
  stop(): void {
    const sampler = this.#sampler
    if (sampler === null) return
    this.#sampler = null
    this.#cached = null
    if (shared === null || shared.sampler !== sampler) return
    if (--shared.refs > 0) return
    shared = null
    try {
      sampler.stop()
    } catch {
      // stop() must leave nothing behind and never throw: the inspector session is disconnected
      // in any case (which ends the sampling it started), and a failed native stop has no retry.
    }
  }

  /** The live samples as a tree (inspector: forces a full GC). */
  readTree(): AllocationNode {
    if (this.#sampler === null) throw new OomkitError('OOMKIT_PROFILER_OFF', 'The heap profiler is not running: call start() first')
    return this.#sampler.read()
  }

  /**
   * The live sampled allocations as a pprof profile, sample types
   * `[inuse_objects/count, inuse_space/bytes]`. Inspector backend: forces a full GC.
   */
  async profile(): Promise<Profile> {
    const tree = this.readTree()
    return encodeHeapProfile(tree, { intervalBytes: this.intervalBytes, timeMs: this.#now() })
  }

  /** The top allocation sites of a fresh profile, user code first (see {@link topSites}). */
  async topSites(limit: number): Promise<TopSite[]> {
    const sites = topSites(await this.profile(), limit)
    if (limit >= REPORT_TOP) this.#cached = { at: this.#now(), sites: sites.slice(0, REPORT_TOP) }
    return sites
  }

  /**
   * The report's `profile` section. Never throws. With the inspector backend it reuses a profile
   * read in the last 30 s, so a dashboard polling `/debug/memory` does not force a GC each time.
   */
  reportSection(): HeapProfileSection {
    const sampler = this.#sampler
    const base = {
      backend: this.backend,
      intervalBytes: this.intervalBytes,
      stackDepth: this.stackDepth,
      shared: this.#shared,
      forcesGcPerFetch: sampler?.forcesGc ?? this.backend === 'inspector',
    }
    if (sampler === null) return { ...base, topSites: [], topSitesAt: null, error: 'the heap profiler is not running' }
    const now = this.#now()
    const cached = this.#cached
    if (sampler.forcesGc && cached !== null && now - cached.at < REPORT_MAX_AGE_MS) {
      return { ...base, topSites: cached.sites, topSitesAt: new Date(cached.at).toISOString(), error: null }
    }
    try {
      const sites = topSites(encodeHeapProfile(sampler.read(), { intervalBytes: sampler.intervalBytes, timeMs: now }), REPORT_TOP)
      this.#cached = { at: now, sites }
      return { ...base, topSites: sites, topSitesAt: new Date(now).toISOString(), error: null }
    } catch (err) {
      return { ...base, topSites: [], topSitesAt: null, error: messageOf(err) }
    }
  }
}
