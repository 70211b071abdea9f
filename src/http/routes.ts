import type { IncomingMessage, ServerResponse } from 'node:http'
import { OomkitError } from '../errors.js'

/** What a route handler gets. */
export interface RouteContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** The request method; HEAD is passed through so handlers can skip bodies and work. */
  readonly method: string
  readonly query: URLSearchParams
  /** Extra fields for the request's audit line (e.g. `forced: true`). */
  readonly audit: Record<string, unknown>
}

/** One oomkit route. GET implies HEAD. */
export interface Route {
  /** Canonical path, e.g. `/debug/memory`. */
  readonly path: string
  readonly methods: readonly ('GET' | 'POST')[]
  /** Debug routes need auth; metrics follows metricsToken. */
  readonly kind: 'debug' | 'metrics'
  handle(ctx: RouteContext): void | Promise<void>
}

/** Methods a route answers, for `Allow`. */
export function allowedMethods(route: Route): string[] {
  const out: string[] = [...route.methods]
  if (route.methods.includes('GET')) out.splice(1, 0, 'HEAD')
  return out
}

/** A query parameter with a bad value: answered 400 naming it. */
export class QueryError extends OomkitError {
  constructor(
    readonly parameter: string,
    expected: string,
    given: string,
  ) {
    super('OOMKIT_BAD_REQUEST', `Bad query parameter ${parameter}=${JSON.stringify(given.slice(0, 60))}: expected ${expected}`)
  }
}

/** Reads one optional query parameter; sent twice is an error, never a silent pick. */
export function queryParam(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name)
  if (all.length > 1) throw new QueryError(name, 'the parameter once', all.join(','))
  return all[0]
}

/** Reads an optional integer parameter within [min, max]. */
export function intParam(query: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = queryParam(query, name)
  if (v === undefined) return def
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new QueryError(name, `an integer from ${min} to ${max}`, v)
  return Number(v)
}

/** Reads an optional boolean flag (`1`, `true`, `0`, `false`). */
export function flagParam(query: URLSearchParams, name: string): boolean {
  const v = queryParam(query, name)
  if (v === undefined) return false
  if (v === '1' || v === 'true') return true
  if (v === '0' || v === 'false') return false
  throw new QueryError(name, '1, true, 0 or false', v)
}
