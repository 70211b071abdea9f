import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HandlerMountOptions, Oomkit } from '../src/index.js'

/** Options of {@link oomkitExpress}: the same as `kit.handler()`. */
export type OomkitExpressOptions = HandlerMountOptions

/** An Express (4 or 5) middleware; typed on node:http so apps need no `@types/express`. */
export type OomkitMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/**
 * Mounts `/metrics` and `/debug/*` on the app's own port. Routing only: auth, methods, queries
 * and handlers are the core's. Mount it under a prefix to move the routes
 * (`app.use('/ops', oomkitExpress(kit, { token }))` serves `/ops/debug/memory`).
 *
 * @example
 * import { oomkitExpress } from 'oomkit/express'
 * app.use(oomkitExpress(kit, { token: process.env.OOMKIT_TOKEN }))
 */
export function oomkitExpress(kit: Oomkit, options: OomkitExpressOptions = {}): OomkitMiddleware {
  const handle = kit.handler(options)
  return function oomkitMiddleware(req, res, next) {
    // Express 4 strips a mount path together with the slash after it: `/ops//debug/memory`
    // reaches a middleware mounted at `/ops` as `/debug/memory`. Show the core the path as sent,
    // so that spelling is a variant (404 after auth) as it is everywhere else.
    const { originalUrl, baseUrl } = req as IncomingMessage & { originalUrl?: string; baseUrl?: string }
    const url = req.url
    if (url !== undefined && typeof originalUrl === 'string' && typeof baseUrl === 'string' && baseUrl !== '' && originalUrl.startsWith(baseUrl)) {
      const sent = originalUrl.slice(baseUrl.length)
      if (sent.startsWith('//') && sent.slice(1) === url) {
        req.url = sent
        try {
          handle(req, res, (err) => {
            req.url = url
            next(err)
          })
        } finally {
          req.url = url
        }
        return
      }
    }
    handle(req, res, next)
  }
}
