import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { answerHead, sendError, sendJson } from '../../http/respond.js'
import { type Route, type RouteContext, flagParam, intParam } from '../../http/routes.js'
import type { GrowthSite } from './growth.js'
import type { HeapProfiler } from './profiler.js'

const gzipAsync = promisify(gzip)

/** How to turn the profiler on, for the `OOMKIT_PROFILER_OFF` answer. */
const TURN_ON = 'turn it on with createOomkit({ heapProfile: { intervalBytes: 524288 } }) or OOMKIT_HEAP_PROFILE=on'

/** Where the routes find the profiler: null when `heapProfile: false`; `reason` says why it is not running. */
export interface ProfilerSource {
  readonly profiler: () => HeapProfiler | null
  /** Why a configured profiler is not running (not started, stopped, failed to start). */
  readonly reason?: () => string | null
  /** The growing sites after recording a fresh profile (`?growth=1`). */
  readonly growing?: (limit: number) => Promise<{ sites: GrowthSite[]; windowSeconds: number; profiles: number }>
}

/** The running profiler, or null after answering `OOMKIT_PROFILER_OFF` (404) with how to fix it. */
function runningProfiler(source: ProfilerSource, ctx: RouteContext): HeapProfiler | null {
  const profiler = source.profiler()
  if (profiler !== null && profiler.running) {
    ctx.audit.backend = profiler.backend
    return profiler
  }
  ctx.audit.outcome = 'profiler-off'
  const why =
    profiler === null
      ? `The sampling heap profiler is off (heapProfile: false or OOMKIT_HEAP_PROFILE=off); ${TURN_ON}`
      : `The sampling heap profiler is not running (${source.reason?.() ?? 'oomkit is not started: call kit.start()'})`
  sendError(ctx.res, 'OOMKIT_PROFILER_OFF', why, {}, ctx.method === 'HEAD')
  return null
}

/**
 * `GET /debug/pprof/heap`: the live sampled allocations as a gzipped pprof profile, for
 * `go tool pprof`, Pyroscope or Datadog. HEAD answers the headers without reading a profile
 * (with the inspector backend a read forces a full GC).
 *
 * @example
 * // go tool pprof -top http://127.0.0.1:9469/debug/pprof/heap
 */
export function pprofHeapRoute(source: ProfilerSource): Route {
  return {
    path: '/debug/pprof/heap',
    methods: ['GET'],
    kind: 'debug',
    async handle(ctx) {
      const profiler = runningProfiler(source, ctx)
      if (profiler === null) return
      const { res } = ctx
      res.setHeader('Content-Disposition', 'attachment; filename="heap.pb.gz"')
      if (answerHead(res, ctx.method, 'application/octet-stream')) return
      const started = performance.now()
      const profile = await profiler.profile()
      const body = await gzipAsync(profile.encode())
      ctx.audit.samples = profile.sample.length
      ctx.audit.bytes = body.length
      ctx.audit.profileMs = Math.round(performance.now() - started)
      res.statusCode = 200
      res.setHeader('Content-Type', 'application/octet-stream')
      res.setHeader('Content-Length', body.length)
      res.end(body)
    },
  }
}

/**
 * `GET /debug/memory/top?limit=N`: the top allocation sites of a fresh profile,
 * `[{ function, file, line, bytes, count }]`, bytes descending, Node's and oomkit's internals
 * folded into the user code that called them. `limit`: 1 to 500, default 20.
 *
 * `?growth=1`: the sites whose live bytes grow, `[{ function, file, line, bytes,
 * growthBytesPerSecond }]`, fastest first, over the profiles recorded in the window (a fresh one is
 * recorded first); `X-Oomkit-Growth-Window-Seconds` and `X-Oomkit-Growth-Profiles` say over what.
 */
export function memoryTopRoute(source: ProfilerSource): Route {
  return {
    path: '/debug/memory/top',
    methods: ['GET'],
    kind: 'debug',
    async handle(ctx) {
      const limit = intParam(ctx.query, 'limit', 20, 1, 500)
      const growth = flagParam(ctx.query, 'growth')
      const profiler = runningProfiler(source, ctx)
      if (profiler === null) return
      ctx.audit.limit = limit
      if (growth) ctx.audit.growth = true
      if (answerHead(ctx.res, ctx.method, 'application/json; charset=utf-8')) return
      if (!growth || source.growing === undefined) {
        sendJson(ctx.res, 200, await profiler.topSites(limit))
        return
      }
      const g = await source.growing(limit)
      ctx.res.setHeader('X-Oomkit-Growth-Window-Seconds', String(Math.round(g.windowSeconds)))
      ctx.res.setHeader('X-Oomkit-Growth-Profiles', String(g.profiles))
      sendJson(ctx.res, 200, g.sites)
    },
  }
}

/** Both profile routes, for `kit.addRoute`. */
export function heapProfileRoutes(source: ProfilerSource): Route[] {
  return [pprofHeapRoute(source), memoryTopRoute(source)]
}
