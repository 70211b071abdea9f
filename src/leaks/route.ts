import { sendJson } from '../http/respond.js'
import { type Route, intParam } from '../http/routes.js'
import type { LeakTracking } from './leaks.js'

/**
 * `GET /debug/leaks?limit=N`: every lease held past its threshold (kind, pool, age, acquisition
 * stack), oldest first, the per-pool and per-(kind, pool) counts, and the leases whose resource
 * was garbage-collected while leased. Runs the threshold check first, so the log has every lease
 * this answer shows. `limit`: 0 to 10,000 leases, default 100.
 */
export function leaksRoute(leaks: LeakTracking): Route {
  return {
    path: '/debug/leaks',
    methods: ['GET'],
    kind: 'debug',
    handle: function leaksRouteHandler(ctx) {
      const limit = intParam(ctx.query, 'limit', 100, 0, 10_000)
      leaks.check()
      const report = leaks.report(limit)
      ctx.audit.leaked = report.leaked
      sendJson(ctx.res, 200, report, ctx.method === 'HEAD')
    },
  }
}
