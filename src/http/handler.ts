import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OomkitLogger } from '../logging/logger.js'
import { OomkitError } from '../errors.js'
import { auditRequest } from '../logging/audit.js'
import { TokenCheck, isLoopbackHostHeader, readBearer } from './auth.js'
import { canonicalize, plainlyOther, territoryOf, undecodableTerritory } from './paths.js'
import { sendError, setDebugHeaders } from './respond.js'
import { type Route, type RouteContext, allowedMethods } from './routes.js'

/** A node:http request handler; `next` (Express, Connect) receives what is not oomkit's. */
export type OomkitHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

/** How a handler decides auth. */
export interface HandlerOptions {
  /** Bearer token for `/debug/*`. */
  readonly token?: string | undefined
  /** Bearer token for `/metrics`; open without one. */
  readonly metricsToken?: string | undefined
  /** True only for oomkit's own server bound to a loopback address: then no token is needed. */
  readonly loopbackListener: boolean
  /** Serve `/metrics` (the Express adapter can leave it to the app). */
  readonly metrics?: boolean
  /** No auth at all on debug routes (the Express adapter's `allowUnauthenticated`). */
  readonly open?: boolean
}

/** Where the handler finds routes and logs. */
export interface HandlerDeps {
  readonly routes: () => readonly Route[]
  readonly logger: OomkitLogger
}

/**
 * Statuses the HTTP server itself wrote in oomkit's place: a request whose headers were fine but
 * whose body it could not parse reaches the handler first, then the parser fails, the server
 * answers (400, 408, 413) and destroys the socket. Weak: nothing outlives the response.
 */
const serverAnswers = new WeakMap<ServerResponse, number>()

/** Records that the HTTP server answered `res`'s request with `status` itself (oomkit's server does, in `clientError`). */
export function recordServerAnswer(res: ServerResponse, status: number): void {
  if (!res.headersSent) serverAnswers.set(res, status)
}

/**
 * What node's own `clientError` handling answers for an error it destroys the socket with: a
 * parser error (`HPE_*`) or a request timeout; null for the socket's own errors (a reset), after
 * which nothing can be written.
 */
export function clientErrorStatus(code: string | undefined): number | null {
  if (code === 'HPE_HEADER_OVERFLOW') return 431
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408
  return code?.startsWith('HPE_') === true ? 400 : null
}

const TOKEN_HELP =
  'set a token: OOMKIT_TOKEN=<secret> with oomkit/register, listen({ token }), or oomkitExpress(kit, { token }); then send "Authorization: Bearer <secret>"'

/**
 * The one request handler behind oomkit's server and every adapter: territory, auth, method,
 * query, headers and the audit line are decided here, once, and the same way everywhere.
 */
export function createHandler(deps: HandlerDeps, options: HandlerOptions): OomkitHandler {
  const debugToken = options.token === undefined ? null : new TokenCheck(options.token)
  const metricsToken = options.metricsToken === undefined ? null : new TokenCheck(options.metricsToken)
  const serveMetrics = options.metrics ?? true

  return function oomkitHandler(req, res, next) {
    // The app's own requests go on at once: an adapter sits in front of every one of them.
    if (next !== undefined && plainlyOther(req.url ?? '/')) return next()
    // Read now: once the client has gone, the socket no longer says whose it was.
    const remoteAddress = req.socket.remoteAddress ?? null
    const url = req.url ?? '/'
    const path = canonicalize(url)
    // A path that does not decode is still under /debug/ when its prefix says so: it gets the same
    // headers, auth decision and audit line as every other spelling there, and then its 400.
    const territory = path === null ? undecodableTerritory(url) : territoryOf(path.canonical)
    if (territory === 'other' || (territory === 'metrics' && !serveMetrics)) {
      if (next !== undefined) return next()
      if (path === null) return sendError(res, 'OOMKIT_BAD_REQUEST', 'The request path has invalid percent-encoding')
      return sendError(res, 'OOMKIT_NOT_FOUND', `No oomkit route at ${path.raw.slice(0, 200)}; try /debug/memory or /metrics`)
    }

    const started = process.hrtime.bigint()
    const method = (req.method ?? 'GET').toUpperCase()
    const head = method === 'HEAD'
    const audit: Record<string, unknown> = {}
    const route = path === null ? undefined : deps.routes().find((r) => r.path === path.canonical)
    const auditName = route?.path ?? path?.canonical ?? url.split('?', 1)[0] ?? url

    if (territory === 'debug') {
      setDebugHeaders(res)
      const socket = req.socket
      // The app's server (node's default clientError handling) answers a body it cannot parse in
      // oomkit's place, then destroys the socket with the parser's error: just before 'close'.
      function noteServerAnswer(err: NodeJS.ErrnoException): void {
        const status = clientErrorStatus(err.code)
        if (status !== null) recordServerAnswer(res, status)
      }
      socket.on('error', noteServerAnswer)
      res.once('close', function auditOnClose() {
        socket.off('error', noteServerAnswer)
        // A response oomkit never started was not cut off when the server answered instead: the
        // request was bad. Without either, the client left before any answer: no status at all.
        const answered = res.headersSent ? undefined : serverAnswers.get(res)
        if (answered !== undefined) audit.outcome = 'bad-request'
        const status = res.headersSent ? res.statusCode : (answered ?? null)
        const finished = res.writableEnded || answered !== undefined
        auditRequest(deps.logger, { remoteAddress, route: auditName, method, status, finished, started, extra: audit })
      })
    }

    const deny =
      territory === 'debug' && options.open === true
        ? null
        : authorize(req, territory === 'debug' ? debugToken : metricsToken, territory === 'debug', options.loopbackListener)
    if (deny !== null) {
      audit.outcome = 'denied'
      if (deny.code === 'OOMKIT_UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Bearer realm="oomkit"')
      return sendError(res, deny.code, deny.message, {}, head)
    }
    if (path === null) {
      audit.outcome = 'bad-request'
      return sendError(res, 'OOMKIT_BAD_REQUEST', 'The request path has invalid percent-encoding', {}, head)
    }
    // Every other spelling of a route (trailing slash, case, %2f, dot segments) ends here, after auth.
    if (route === undefined || path.raw !== route.path) {
      audit.outcome = 'not-found'
      const hint = route === undefined ? '' : `; did you mean ${route.path}?`
      return sendError(res, 'OOMKIT_NOT_FOUND', `No oomkit route at ${path.raw.slice(0, 200)}${hint}`, {}, head)
    }
    const allowed = allowedMethods(route)
    if (!allowed.includes(method)) {
      audit.outcome = 'method-not-allowed'
      res.setHeader('Allow', allowed.join(', '))
      return sendError(res, 'OOMKIT_METHOD_NOT_ALLOWED', `${route.path} takes ${allowed.join(', ')}, not ${method.slice(0, 20)}`, {}, head)
    }
    const ctx: RouteContext = { req, res, method, query: new URLSearchParams(path.query), audit }
    void runRoute(route, ctx, deps.logger)
  }
}

async function runRoute(route: Route, ctx: RouteContext, logger: OomkitLogger): Promise<void> {
  try {
    await route.handle(ctx)
    ctx.audit.outcome ??= 'ok'
  } catch (err) {
    if (err instanceof OomkitError && err.status !== null && err.status < 500) {
      ctx.audit.outcome ??= 'bad-request'
      sendError(ctx.res, err.code, err.message, 'parameter' in err ? { parameter: err.parameter } : {}, ctx.method === 'HEAD')
      return
    }
    ctx.audit.outcome = 'error'
    logger.error({ err, route: route.path }, 'oomkit route failed')
    sendError(ctx.res, 'OOMKIT_INTERNAL', 'oomkit failed to answer this request; the service log has the details', {}, ctx.method === 'HEAD')
  }
}

interface Denial {
  readonly code: 'OOMKIT_UNAUTHORIZED' | 'OOMKIT_TOKEN_REQUIRED' | 'OOMKIT_FORBIDDEN_HOST'
  readonly message: string
}

function authorize(req: IncomingMessage, token: TokenCheck | null, debug: boolean, loopbackListener: boolean): Denial | null {
  if (token !== null) {
    const bearer = readBearer(req)
    if (bearer.kind === 'none') return { code: 'OOMKIT_UNAUTHORIZED', message: 'This route needs "Authorization: Bearer <token>"' }
    if (bearer.kind === 'malformed') return { code: 'OOMKIT_UNAUTHORIZED', message: `Bad Authorization header: ${bearer.reason}` }
    return token.matches(bearer.token) ? null : { code: 'OOMKIT_UNAUTHORIZED', message: 'The bearer token is not valid for this route' }
  }
  if (!debug) return null
  if (!loopbackListener) {
    return {
      code: 'OOMKIT_TOKEN_REQUIRED',
      message: `Debug routes here need a token: ${TOKEN_HELP}. Without a token they answer only on a loopback listener (reach it with kubectl port-forward)`,
    }
  }
  if (!isLoopbackHostHeader(req.headers.host)) {
    return {
      code: 'OOMKIT_FORBIDDEN_HOST',
      message: 'Without a token, debug routes answer only for a loopback Host (localhost, 127.0.0.1, [::1]); ' + TOKEN_HELP,
    }
  }
  return null
}
