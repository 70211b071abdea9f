import type { AllocationNode } from './pprof.js'

/** Which implementation reads V8's sampling heap profiler. */
export type HeapProfilerBackend = 'datadog' | 'inspector'

/**
 * The sampler contract: V8's sampling heap profiler as one backend runs it (`@datadog/pprof` in
 * `datadog.ts`, `node:inspector` in `inspector.ts`). One per process, shared by every HeapProfiler.
 */
export interface V8Sampler {
  readonly backend: HeapProfilerBackend
  /** Average bytes between samples really in use (the first starter's). */
  readonly intervalBytes: number
  readonly stackDepth: number
  /** Started outside oomkit (e.g. Pyroscope): oomkit reads it and never stops it. */
  readonly external: boolean
  /** Whether every read forces a full GC (the inspector does). */
  readonly forcesGc: boolean
  /** Reads the live samples now. */
  read(): AllocationNode
  stop(): void
}
