/**
 * An Express app serving fixture routes, and the requests the tests send it: one connection per
 * request (no agent), so nothing the client keeps open shows up in the tracker.
 */
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import express from 'express'
import { type Reply, send } from '../helpers/http.js'

/** The fixture file whose lines the stacks must name. */
export const ROUTES_FILE = join(import.meta.dirname, '..', 'fixtures', 'leaks', 'routes.cjs')

type Handler = (req: unknown, res: unknown) => unknown
type RouteSet = Record<string, Handler>

/** The fixture's route factories, loaded with require() so V8 sees the file as written. */
export const fixtureRoutes = createRequire(import.meta.url)(ROUTES_FILE) as {
  pgRoutes(pool: unknown): RouteSet
  mysqlCallbackRoutes(pool: unknown): RouteSet
  mysqlPromiseRoutes(pool: unknown): RouteSet
  genericPoolRoutes(pool: unknown): RouteSet
  takeResource(kit: unknown, resource: unknown, options?: unknown): { release(): void }
}

/** A running app. */
export interface App {
  readonly port: number
  get(path: string): Promise<Reply>
  close(): Promise<void>
}

/** Serves `routes` at `/<name>` on 127.0.0.1:0. */
export async function serve(routes: RouteSet): Promise<App> {
  const app = express()
  for (const [name, handler] of Object.entries(routes)) app.get(`/${name}`, handler as never)
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const port = (server.address() as { port: number }).port
  return {
    port,
    get: (path) => send(port, { path }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
