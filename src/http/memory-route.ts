import type { ServerResponse } from 'node:http'
import { PAGE_CSP, type PageReport, prefersHtml, renderPage } from './page/index.js'
import { sendJson } from './respond.js'
import { type Route, intParam } from './routes.js'

/** What the memory route needs of the core options: the thresholds the page draws, and the sample interval it reloads at. */
export interface MemoryRouteOptions {
  readonly warnRatio: number
  readonly criticalRatio: number
  readonly sampleIntervalMs: number
}

/** Longest `?refresh=N` the page takes, in seconds (a day). */
export const MAX_REFRESH_SECONDS = 86_400

/** The page reloads every 10 s, or at the sample interval when that is longer: a reload sooner shows nothing new. */
export function defaultRefreshSeconds(sampleIntervalMs: number): number {
  return Math.max(10, Math.ceil(sampleIntervalMs / 1000))
}

/** Adds `Accept` to `Vary`, keeping what an app's middleware may have put there (`Origin`, say). */
function varyOnAccept(res: ServerResponse): void {
  const existing = res.getHeader('Vary')
  const list =
    existing === undefined
      ? []
      : String(existing)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
  if (!list.some((v) => v.toLowerCase() === 'accept' || v === '*')) list.push('Accept')
  res.setHeader('Vary', list.join(', '))
}

/**
 * `GET /debug/memory`: the memory report as JSON, or the memory page (HTML) when the request's
 * `Accept` prefers `text/html` over `application/json` (a browser does; curl's `*\/*` does not).
 * `?refresh=N` sets the page's reload interval in seconds (0: none); a bad value is a 400 either way.
 */
export function memoryRoute(report: () => PageReport, options: MemoryRouteOptions): Route {
  return {
    path: '/debug/memory',
    methods: ['GET'],
    kind: 'debug',
    handle: function memoryReportRoute({ req, res, method, query }) {
      const refreshSeconds = intParam(query, 'refresh', defaultRefreshSeconds(options.sampleIntervalMs), 0, MAX_REFRESH_SECONDS)
      const head = method === 'HEAD'
      varyOnAccept(res)
      if (!prefersHtml(req.headers.accept)) return sendJson(res, 200, report(), head)
      const html = renderPage(report(), { warnRatio: options.warnRatio, criticalRatio: options.criticalRatio, refreshSeconds })
      res.statusCode = 200
      res.setHeader('Content-Type', 'text/html; charset=utf-8')
      res.setHeader('Content-Security-Policy', PAGE_CSP)
      res.setHeader('X-Frame-Options', 'DENY')
      res.setHeader('Referrer-Policy', 'no-referrer')
      res.setHeader('Content-Length', Buffer.byteLength(html))
      res.end(head ? undefined : html)
    },
  }
}
