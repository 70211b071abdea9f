/**
 * Shared pieces of the HTTP suites: a kit with a captured pino logger and its own registry, a
 * test-only route, and two clients that can send what fetch() cannot (any Host header, any path,
 * raw bytes).
 *
 * @example
 * const t = testKit()
 * const server = await t.kit.listen({ port: 0, token: 'secret' })
 * const r = await send(server.address.port, { path: '/debug/memory', headers: { authorization: 'Bearer secret' } })
 */
import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http'
import { connect, createServer as createNetServer } from 'node:net'
import { Registry } from 'prom-client'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../src/index.js'
import { intParam, sendJson } from '../../src/http/index.js'
import { internals } from '../../src/internal.js'
import { type CapturedLog, type LogLine, captureLog } from './logs.js'

/** One captured pino line, parsed. */
export type { LogLine } from './logs.js'

/** Every line a logger wrote: parsed, and as the exact text (to search for secrets). */
export type Captured = Pick<CapturedLog, 'logger' | 'lines' | 'text'>

/** A pino logger at debug level writing into memory (see {@link captureLog}). */
export function captureLogger(): Captured {
  return captureLog()
}

export { until } from './time.js'

/** A kit that touches nothing global: its own registry, a captured logger, no periodic log. */
export interface TestKit extends Captured {
  readonly kit: Oomkit
  /** The audit lines written so far. */
  audits(): LogLine[]
}

/**
 * Creates a kit as every HTTP test does, with the test-only route `/debug/test-echo` added.
 * `start` registers the metrics (so /metrics has content) and is on by default; `options` adds
 * core options (e.g. `snapshot: false`).
 */
export function testKit(start = true, options: Omit<OomkitOptions, 'logger' | 'registry' | 'logIntervalMs'> = {}): TestKit {
  const cap = captureLogger()
  const kit = createOomkit({ ...options, logger: cap.logger, registry: new Registry(), logIntervalMs: 0 })
  addEchoRoute(kit)
  if (start) kit.start()
  return { ...cap, kit, audits: () => cap.lines.filter((l) => l.audit === true) }
}

/**
 * `GET, POST /debug/test-echo?n=1..100`: answers `{ method, n }`; a bad `n` is a 400 naming it
 * (through `intParam`, as real routes do).
 */
export function addEchoRoute(kit: Oomkit): void {
  internals(kit).addRoute({
    path: '/debug/test-echo',
    methods: ['GET', 'POST'],
    kind: 'debug',
    handle(ctx) {
      const n = intParam(ctx.query, 'n', 1, 1, 100)
      sendJson(ctx.res, 200, { method: ctx.method, n }, ctx.method === 'HEAD')
    },
  })
}

/** What a request got back. `status` is null when the server closed without answering. */
export interface Reply {
  readonly status: number | null
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The body parsed as JSON, or undefined. */
  readonly json: Record<string, unknown> | undefined
}

/** Options of {@link send}. */
export interface SendOptions {
  readonly path: string
  readonly method?: string
  readonly headers?: OutgoingHttpHeaders
  /** Address to connect to. @default "127.0.0.1" */
  readonly host?: string
  readonly body?: string
  /** Give up after this many ms. @default 5000 */
  readonly timeoutMs?: number
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body)
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * One request through node:http with no agent (no keep-alive, nothing left open): the path is sent
 * as given (node only refuses control characters and spaces) and the Host header can be anything.
 * A `host` header in `headers` replaces the one node would send.
 */
export function send(port: number, o: SendOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: o.host ?? '127.0.0.1', port, path: o.path, method: o.method ?? 'GET', headers: o.headers, agent: false, setHost: !hasHost(o.headers) },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? null, headers: res.headers, body, json: parseJson(body) })
        })
        res.on('error', reject)
      },
    )
    req.setTimeout(o.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${o.path.slice(0, 100)} in ${o.timeoutMs ?? 5000} ms`)))
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer and close before it has read a body we are still sending.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve({ status: null, headers: {}, body: '', json: undefined })
      else reject(err)
    })
    req.end(o.body)
  })
}

function hasHost(headers: OutgoingHttpHeaders | undefined): boolean {
  return headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === 'host')
}

/** A raw HTTP/1.x exchange: the bytes as written, the answer as read until the server closes. */
export interface RawReply extends Reply {
  /** The status line, e.g. `HTTP/1.1 401 Unauthorized` ('' when none came). */
  readonly statusLine: string
  readonly raw: string
}

/**
 * Writes `data` as-is on a TCP socket and reads until the server closes it. For what node's
 * client refuses to send: backslashes, bytes above 0x7f, duplicate or empty headers, bad methods.
 * Send `Connection: close` (or HTTP/1.0) so the server ends the exchange.
 */
export function rawSend(port: number, data: string | Buffer, host = '127.0.0.1', timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`raw request got no close in ${timeoutMs} ms: ${String(data).slice(0, 100)}`))
    }, timeoutMs)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1')))
    })
    socket.write(data)
  })
}

function parseRaw(raw: string): RawReply {
  const split = raw.indexOf('\r\n\r\n')
  const head = split < 0 ? raw : raw.slice(0, split)
  let body = split < 0 ? '' : raw.slice(split + 4)
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  const headers: IncomingHttpHeaders = {}
  for (const line of headerLines) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
  body = Buffer.from(body, 'latin1').toString('utf8')
  return { status: m === null ? null : Number(m[1]), statusLine, headers, body, json: parseJson(body), raw }
}

function dechunk(s: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const eol = s.indexOf('\r\n', i)
    if (eol < 0) return out
    const size = parseInt(s.slice(i, eol), 16)
    if (!(size > 0)) return out
    out += s.slice(eol + 2, eol + 2 + size)
    i = eol + 2 + size + 2
  }
}

/** A raw GET (or other method) with `Connection: close`; `extra` is more header lines, each ending in CRLF. */
export function rawRequest(port: number, method: string, path: string, extra = '', hostHeader = 'Host: localhost\r\n'): Promise<RawReply> {
  return rawSend(port, `${method} ${path} HTTP/1.1\r\n${hostHeader}Connection: close\r\n${extra}\r\n`)
}

/** Counts of `process.getActiveResourcesInfo()` by kind. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/**
 * The kinds of which there are more now than in `before` (closing sockets get a few event-loop
 * turns to go away first). Empty when nothing was left open.
 */
export async function leakedResources(before: Map<string, number>): Promise<string[]> {
  let leaked: string[] = []
  for (let attempt = 0; attempt < 50; attempt++) {
    const now = activeResources()
    leaked = [...now].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${kind} ×${n - (before.get(kind) ?? 0)}`)
    if (leaked.length === 0) return leaked
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return leaked
}

/** The two headers every debug response carries. */
export const DEBUG_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const

/** A TCP port free on 127.0.0.1 now (bound and released), for a server another process starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}
