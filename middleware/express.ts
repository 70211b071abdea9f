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
    handle(req, res, next)
  }
}
