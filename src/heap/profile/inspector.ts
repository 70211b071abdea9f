import { createRequire } from 'node:module'
import type { Session } from 'node:inspector'
import { type AllocationNode, scriptPath } from './pprof.js'
import type { V8Sampler } from './sampler.js'

type InspectorModule = typeof import('node:inspector')

/** `HeapProfiler.SamplingHeapProfileNode` of the protocol (@types/node lacks `id`). */
interface SamplingNode {
  readonly callFrame: {
    readonly functionName: string
    readonly scriptId: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  /** Bytes of the samples attributed to this node itself: V8's `size × count` summed. */
  readonly selfSize: number
  readonly id: number
  readonly children: readonly SamplingNode[]
}

/** `HeapProfiler.SamplingHeapProfile` of the protocol (@types/node lacks `samples`). */
export interface SamplingProfile {
  readonly head: SamplingNode
  /** One per sampled live object: `size` is its size times V8's scaled count. */
  readonly samples: readonly { readonly size: number; readonly nodeId: number; readonly ordinal: number }[]
}

/**
 * V8's depth for samples taken through the inspector protocol: `HeapProfiler.startSampling` has
 * no stack depth parameter, and V8 records up to 128 frames for it.
 */
export const INSPECTOR_STACK_DEPTH = 128

let inspectorModule: InspectorModule | null | undefined

/**
 * `node:inspector`, or null where Node was built without it. Loaded on first use, never at
 * import: `import 'node:inspector'` throws on such builds and would take oomkit down with it.
 */
export function loadInspector(): InspectorModule | null {
  if (inspectorModule === undefined) {
    try {
      inspectorModule = createRequire(import.meta.url)('node:inspector') as InspectorModule
    } catch {
      inspectorModule = null
    }
  }
  return inspectorModule
}

/**
 * Posts one command and returns its answer. An in-process session answers before `post`
 * returns (Node dispatches it on the calling thread); anything else is reported, not awaited.
 */
function postSync<T>(session: Session, method: string, params?: object): T {
  let answered = false
  let failure: Error | null = null
  let answer: unknown
  session.post(method, params ?? {}, function onAnswer(err: Error | null, result?: object) {
    answered = true
    failure = err
    answer = result
  })
  if (!answered) throw new Error(`node:inspector did not answer ${method} synchronously`)
  if (failure !== null) throw failure
  return answer as T
}

/**
 * Whether V8's sampling heap profiler is running in this isolate (started by anyone), or null
 * when `node:inspector` is missing. When it is not running the probe costs ~0.3 ms; when it is,
 * it costs the same full GC as a fetch, once.
 */
export function isV8SamplerRunning(): boolean | null {
  const inspector = loadInspector()
  if (inspector === null) return null
  const session = new inspector.Session()
  session.connect()
  try {
    postSync(session, 'HeapProfiler.getSamplingProfile')
    return true
  } catch {
    return false
  } finally {
    session.disconnect()
  }
}

/**
 * Estimated size of the objects behind one inspector sample. The protocol reports only
 * `size × count`, where V8 scaled `count` up by 1 / (1 − e^(−size/interval)); this inverts the
 * unrounded function by bisection. Object counts from this backend are therefore estimates.
 */
export function estimateObjectSize(sampleBytes: number, intervalBytes: number): number {
  const f = (s: number): number => s / -Math.expm1(-s / intervalBytes)
  let lo = 16
  let hi = Math.max(lo, sampleBytes)
  if (f(lo) >= sampleBytes) return lo
  for (let i = 0; i < 60 && hi - lo > 0.5; i++) {
    const mid = (lo + hi) / 2
    if (f(mid) < sampleBytes) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** Turns the inspector's profile into oomkit's normalised tree (1-based lines, plain paths). */
export function fromInspectorProfile(profile: SamplingProfile, intervalBytes: number): AllocationNode {
  const objectsByNode = new Map<number, number>()
  const sizeCache = new Map<number, number>()
  for (const sample of profile.samples) {
    let size = sizeCache.get(sample.size)
    if (size === undefined) {
      size = estimateObjectSize(sample.size, intervalBytes)
      sizeCache.set(sample.size, size)
    }
    objectsByNode.set(sample.nodeId, (objectsByNode.get(sample.nodeId) ?? 0) + sample.size / size)
  }
  function convert(node: SamplingNode): AllocationNode {
    const frame = node.callFrame
    return {
      name: frame.functionName,
      file: scriptPath(frame.url),
      line: frame.lineNumber >= 0 ? frame.lineNumber + 1 : 0,
      column: frame.columnNumber >= 0 ? frame.columnNumber + 1 : 0,
      scriptId: Number(frame.scriptId) || 0,
      bytes: node.selfSize,
      objects: objectsByNode.get(node.id) ?? 0,
      children: node.children.map(convert),
    }
  }
  return convert(profile.head)
}

/**
 * The fallback backend: an in-process `node:inspector` session. Every `read()` runs
 * `HeapProfiler.getSamplingProfile`, which **forces a full mark-compact GC** (~64 ms at a 100 MB
 * heap): read on demand only, never on a timer.
 *
 * With `guest`, V8's sampler was started by someone else: this session only reads, and its
 * `stop()` only disconnects (a session stops sampling on disconnect only if it started it).
 */
export function startInspectorSampler(intervalBytes: number, guest: boolean): V8Sampler {
  const inspector = loadInspector()
  if (inspector === null) throw new Error('node:inspector is not available in this Node build')
  let session: Session | null = new inspector.Session()
  session.connect()
  try {
    if (!guest) postSync(session, 'HeapProfiler.startSampling', { samplingInterval: intervalBytes })
  } catch (err) {
    session.disconnect()
    throw err
  }
  return {
    backend: 'inspector',
    intervalBytes,
    stackDepth: INSPECTOR_STACK_DEPTH,
    external: guest,
    forcesGc: true,
    read() {
      if (session === null) throw new Error('the inspector heap sampler is stopped')
      const { profile } = postSync<{ profile: SamplingProfile }>(session, 'HeapProfiler.getSamplingProfile')
      return fromInspectorProfile(profile, intervalBytes)
    },
    stop() {
      if (session === null) return
      const s = session
      session = null
      try {
        if (!guest) postSync(s, 'HeapProfiler.stopSampling')
      } finally {
        s.disconnect()
      }
    },
  }
}
