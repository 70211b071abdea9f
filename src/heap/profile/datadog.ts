import { createRequire } from 'node:module'
import { messageOf } from '../../errors.js'
import { type AllocationNode, scriptPath } from './pprof.js'
import type { V8Sampler } from './sampler.js'

/** The part of V8's allocation profile `@datadog/pprof` hands out (`heap.v8Profile()`). */
interface DatadogNode {
  readonly name?: string
  readonly scriptName: string
  readonly scriptId?: number
  readonly lineNumber?: number
  readonly columnNumber?: number
  readonly allocations: readonly { readonly sizeBytes: number; readonly count: number }[]
  readonly children: readonly DatadogNode[]
}

/** The part of `@datadog/pprof`'s `heap` export oomkit uses. */
export interface DatadogHeap {
  start(intervalBytes: number, stackDepth: number): void
  stop(): void
  v8Profile(): DatadogNode
}

let loaded: { heap: DatadogHeap | null; error: string | null } | undefined

/**
 * `@datadog/pprof`'s heap profiler, or null when the optional dependency is not installed or its
 * native add-on does not load on this platform. Loaded with `require` on first use: oomkit has
 * no top-level await (CommonJS apps `require()` it) and pays the ~15 ms import only when the
 * profiler starts.
 */
export function loadDatadogHeap(): DatadogHeap | null {
  if (loaded === undefined) {
    try {
      const mod = createRequire(import.meta.url)('@datadog/pprof') as { heap?: DatadogHeap }
      if (typeof mod.heap?.start !== 'function' || typeof mod.heap.v8Profile !== 'function') throw new Error('@datadog/pprof has no heap.start/heap.v8Profile')
      loaded = { heap: mod.heap, error: null }
    } catch (err) {
      loaded = { heap: null, error: messageOf(err) }
    }
  }
  return loaded.heap
}

/** Why `@datadog/pprof` did not load, or null when it did (or was not tried yet). */
export function datadogLoadError(): string | null {
  return loaded?.error ?? null
}

/** Turns `@datadog/pprof`'s tree into oomkit's normalised one (its lines are already 1-based). */
export function fromDatadogNode(node: DatadogNode): AllocationNode {
  let bytes = 0
  let objects = 0
  for (const a of node.allocations) {
    bytes += a.sizeBytes * a.count
    objects += a.count
  }
  return {
    name: node.name ?? '',
    file: scriptPath(node.scriptName),
    line: node.lineNumber !== undefined && node.lineNumber > 0 ? node.lineNumber : 0,
    column: node.columnNumber !== undefined && node.columnNumber > 0 ? node.columnNumber : 0,
    scriptId: node.scriptId ?? 0,
    bytes,
    objects,
    children: node.children.map(fromDatadogNode),
  }
}

/** Whether the error is `@datadog/pprof` saying its heap profiler runs already (someone else started it). */
function alreadyStarted(err: unknown): boolean {
  return err instanceof Error && /already started/i.test(err.message)
}

/**
 * Whether this copy of `@datadog/pprof` has its heap profiler on (someone else, e.g. Pyroscope,
 * started it). `v8Profile()` throws when it is off; when on it reads without forcing a GC.
 */
export function datadogHeapRunning(heap: DatadogHeap): boolean {
  try {
    heap.v8Profile()
    return true
  } catch {
    return false
  }
}

/**
 * The preferred backend: `@datadog/pprof`'s native add-on reads V8's allocation profile without
 * forcing a GC (~0.4 ms at a 100 MB heap). When this copy of `@datadog/pprof` was already started
 * by someone else (`guest`, or found at start), it only reads and `stop()` leaves it running.
 */
export function startDatadogSampler(heap: DatadogHeap, intervalBytes: number, stackDepth: number, guest: boolean): V8Sampler {
  let external = guest
  let interval = intervalBytes
  if (!guest) {
    try {
      heap.start(intervalBytes, stackDepth)
    } catch (err) {
      if (!alreadyStarted(err)) throw err
      external = true
      // "already started with intervalBytes N": report the interval really in use.
      const m = /intervalBytes (\d+)/.exec((err as Error).message)
      if (m !== null) interval = Number(m[1])
    }
  }
  let running = true
  return {
    backend: 'datadog',
    intervalBytes: interval,
    stackDepth,
    external,
    forcesGc: false,
    read() {
      if (!running) throw new Error('the @datadog/pprof heap sampler is stopped')
      return fromDatadogNode(heap.v8Profile())
    },
    stop() {
      if (!running) return
      running = false
      if (!external) heap.stop()
    },
  }
}
