import dc from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import type { Lease } from './lease.js'
import { type StackHolder, captureStack } from './stack.js'
import type { LeakTracker } from './tracker.js'

/** The channels subscribed to (all exist on Node 20+; undici's are published by the fetch bundled with Node). */
export const SOCKET_CHANNELS = Object.freeze({
  socket: 'net.client.socket',
  http: 'http.client.request.start',
  /** Node 22.12+: published in the ClientRequest constructor, in the caller's stack. */
  httpCreated: 'http.client.request.created',
  fetchCreate: 'undici:request:create',
  fetchTrailers: 'undici:request:trailers',
  fetchError: 'undici:request:error',
})

/** Lease kinds of the socket tracking. */
export const SOCKET_KINDS = Object.freeze({ socket: 'socket', http: 'http', fetch: 'fetch' })

/** http's and undici's frames sit between the caller and the channel: capture deeper than the default 10. */
const STACK_DEPTH = 40

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' }

/** `host:port` of an undici origin (`http://127.0.0.1:8080`), default port filled in. */
export function originHostPort(origin: unknown): string {
  const text = typeof origin === 'string' ? origin : String(origin)
  const m = /^([a-z][a-z0-9+.-]*:)\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(text)
  if (m === null) return 'unknown'
  return `${m[2]}:${m[3] ?? DEFAULT_PORTS[(m[1] as string).toLowerCase()] ?? '0'}`
}

interface ClientRequestLike {
  readonly host?: unknown
  readonly protocol?: unknown
  readonly method?: unknown
  readonly path?: unknown
  readonly socket?: unknown
  getHeader?(name: string): unknown
  once(event: 'close', listener: () => void): unknown
}

/** `host:port` of a node:http client request, from its host and Host header (the socket is not assigned yet). */
export function requestHostPort(req: ClientRequestLike): string {
  const host = typeof req.host === 'string' && req.host !== '' ? req.host : 'unknown'
  const header = req.getHeader?.('host')
  const m = typeof header === 'string' ? /:(\d+)$/.exec(header) : null
  const port = m?.[1] ?? DEFAULT_PORTS[typeof req.protocol === 'string' ? req.protocol : 'http:'] ?? '80'
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

/** `{ method, path }` of a request, the query string left out (it may carry tokens). */
export function requestMeta(method: unknown, path: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof method !== 'string' || typeof path !== 'string') return undefined
  const q = path.indexOf('?')
  return { method, path: (q < 0 ? path : path.slice(0, q)).slice(0, 200) }
}

/**
 * Outgoing sockets and HTTP client requests, seen through `diagnostics_channel` (nothing is
 * wrapped): a `socket` lease per connected `net` client socket until it closes (counted with its
 * age per remote `host:port`, never reported as a leak: keep-alive sockets live long on purpose),
 * an `http` lease per `node:http` client request until it closes (its response read to the end or
 * abandoned by destroying it), and a `fetch` lease per undici request until its response body has
 * been received or it failed. The last two are reported past the threshold: a response whose body
 * is never consumed holds its socket. None is watched for garbage collection: Node and undici
 * reference them until they close or fail.
 */
export class SocketTracking {
  readonly #fetches = new WeakMap<object, Lease>()
  /** Stacks taken where a request or a socket was created, for the request that starts on it later. */
  readonly #creationStacks = new WeakMap<object, StackHolder>()
  #on = false

  constructor(
    private readonly tracker: LeakTracker,
    private readonly threshold: number,
    private readonly captureStacks: boolean,
  ) {}

  /** Subscribes to the net, http and undici channels. */
  start(): void {
    if (this.#on) return
    this.#on = true
    dc.subscribe(SOCKET_CHANNELS.socket, this.#onSocket)
    dc.subscribe(SOCKET_CHANNELS.http, this.#onHttp)
    dc.subscribe(SOCKET_CHANNELS.httpCreated, this.#onHttpCreated)
    dc.subscribe(SOCKET_CHANNELS.fetchCreate, this.#onFetch)
    dc.subscribe(SOCKET_CHANNELS.fetchTrailers, this.#onFetchEnd)
    dc.subscribe(SOCKET_CHANNELS.fetchError, this.#onFetchEnd)
  }

  /** Unsubscribes from every channel. */
  stop(): void {
    if (!this.#on) return
    this.#on = false
    dc.unsubscribe(SOCKET_CHANNELS.socket, this.#onSocket)
    dc.unsubscribe(SOCKET_CHANNELS.http, this.#onHttp)
    dc.unsubscribe(SOCKET_CHANNELS.httpCreated, this.#onHttpCreated)
    dc.unsubscribe(SOCKET_CHANNELS.fetchCreate, this.#onFetch)
    dc.unsubscribe(SOCKET_CHANNELS.fetchTrailers, this.#onFetchEnd)
    dc.unsubscribe(SOCKET_CHANNELS.fetchError, this.#onFetchEnd)
  }

  #site(above: (...args: never[]) => unknown): StackHolder | null {
    return this.captureStacks ? captureStack(above, STACK_DEPTH) : null
  }

  readonly #onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket } | null)?.socket
    if (socket === undefined || typeof socket.once !== 'function') return
    const holder = this.#site(this.#onSocket)
    if (holder !== null) this.#creationStacks.set(socket, holder)
    socket.once('connect', () => {
      const address = socket.remoteAddress ?? 'unknown'
      const pool = `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? 0}`
      const lease = this.tracker.open(this.tracker.rows.row(SOCKET_KINDS.socket, pool), socket, Infinity, holder, undefined, false)
      socket.once('close', () => this.tracker.end(lease))
    })
  }

  readonly #onHttpCreated = (message: unknown): void => {
    const request = (message as { request?: object } | null)?.request
    if (request === undefined || request === null) return
    const holder = this.#site(this.#onHttpCreated)
    if (holder !== null) this.#creationStacks.set(request, holder)
  }

  /**
   * `http.client.request.start` is published when the request is flushed, a tick after the
   * caller's code: the stack comes from where the request was created (Node 22.12+), or from
   * where its socket was created when that happened for this request (a new connection); a
   * request on a reused keep-alive socket has none on older Node.
   */
  readonly #onHttp = (message: unknown): void => {
    const request = (message as { request?: ClientRequestLike } | null)?.request
    if (request === undefined || typeof request.once !== 'function') return
    let holder = this.#takeStack(request)
    if (holder === null && request.socket !== null && typeof request.socket === 'object') holder = this.#takeStack(request.socket)
    const lease = this.tracker.open(
      this.tracker.rows.row(SOCKET_KINDS.http, requestHostPort(request)),
      request,
      this.threshold,
      holder,
      requestMeta(request.method, request.path),
      false,
    )
    request.once('close', () => this.tracker.end(lease))
  }

  #takeStack(key: object): StackHolder | null {
    const holder = this.#creationStacks.get(key)
    if (holder === undefined) return null
    this.#creationStacks.delete(key)
    return holder
  }

  readonly #onFetch = (message: unknown): void => {
    const request = (message as { request?: { origin?: unknown; method?: unknown; path?: unknown } } | null)?.request
    if (request === undefined || request === null || typeof request !== 'object') return
    const holder = this.#site(this.#onFetch)
    const row = this.tracker.rows.row(SOCKET_KINDS.fetch, originHostPort(request.origin))
    this.#fetches.set(request, this.tracker.open(row, request, this.threshold, holder, requestMeta(request.method, request.path), false))
  }

  readonly #onFetchEnd = (message: unknown): void => {
    const request = (message as { request?: object } | null)?.request
    if (request === undefined || request === null) return
    const lease = this.#fetches.get(request)
    if (lease === undefined) return
    this.#fetches.delete(request)
    this.tracker.end(lease)
  }
}
