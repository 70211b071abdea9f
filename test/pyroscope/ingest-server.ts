/**
 * A Pyroscope ingest endpoint for tests, on 127.0.0.1: `POST /ingest` as the Pyroscope server
 * takes it from `@pyroscope/nodejs` 0.6 (and oomkit): the pprof profile as the raw body, gzipped
 * or not. It checks the query (`name`, `from`, `until`, `format=pprof`, `spyName`), decodes the profile
 * with pprof-format and keeps it. It can refuse (`status`), answer late (`slow`) or go down and
 * come back on the same port.
 *
 * @example
 * const ingest = await IngestServer.start()
 * createOomkit({ pyroscope: { serverAddress: ingest.url, appName: 'svc' } })
 * const heap = await ingest.next((u) => u.kind === 'heap')
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { Profile } from 'pprof-format'
import { profileString } from '../../src/heap/profile/index.js'

/** One upload the server accepted (or refused, with `status`). */
export interface Upload {
  readonly status: number
  readonly appName: string
  readonly tags: Record<string, string>
  readonly query: Record<string, string>
  readonly headers: IncomingHttpHeaders
  /** The decoded profile; null when the request was refused before decoding. */
  readonly profile: Profile | null
  readonly kind: 'heap' | 'wall' | 'unknown'
  readonly gzipped: boolean
  readonly bytes: number
  readonly receivedAt: number
}

/** How the server answers. */
export type IngestMode = { readonly kind: 'ok' } | { readonly kind: 'status'; readonly status: number } | { readonly kind: 'slow'; readonly delayMs: number }

/** Parses Pyroscope's `app{k=v,k=v}`. */
export function parseName(name: string): { appName: string; tags: Record<string, string> } {
  const open = name.indexOf('{')
  if (open < 0 || !name.endsWith('}')) return { appName: name, tags: {} }
  const tags: Record<string, string> = {}
  for (const pair of name
    .slice(open + 1, -1)
    .split(',')
    .filter(Boolean)) {
    const eq = pair.indexOf('=')
    tags[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return { appName: name.slice(0, open), tags }
}

function kindOf(profile: Profile): Upload['kind'] {
  const types = profile.sampleType.map((t) => profileString(profile, t.type))
  if (types.includes('inuse_space')) return 'heap'
  if (types.includes('wall')) return 'wall'
  return 'unknown'
}

/** The test ingest server. */
export class IngestServer {
  readonly uploads: Upload[] = []
  mode: IngestMode = { kind: 'ok' }
  /** Requests being answered now, and the most at once. */
  concurrent = 0
  maxConcurrent = 0
  readonly #sockets = new Set<Socket>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #server: Server
  #waiters: (() => void)[] = []

  private constructor(
    readonly port: number,
    server: Server,
  ) {
    this.#server = server
  }

  /** Listens on 127.0.0.1 (a free port, or `port`). */
  static async start(port = 0): Promise<IngestServer> {
    const holder: { self?: IngestServer } = {}
    const server = createServer((req, res) => holder.self?.handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    const self = new IngestServer((server.address() as { port: number }).port, server)
    holder.self = self
    self.#track(server)
    return self
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Resolves with the first upload (already received or coming) that matches. */
  async next(match: (u: Upload) => boolean, timeoutMs = 15_000, after = 0): Promise<Upload> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.uploads.slice(after).find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline)
        throw new Error(`no matching upload in ${timeoutMs} ms (got ${this.uploads.map((u) => `${u.kind}:${u.status}`).join(', ') || 'none'})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Stops listening and drops every open connection: the port refuses connections. */
  async down(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.#track(server)
  }

  /** Closes for good. */
  close(): Promise<void> {
    return this.down()
  }

  #track(server: Server): void {
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s)
      s.once('close', () => this.#sockets.delete(s))
    })
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      this.concurrent++
      this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent)
      res.once('close', () => this.concurrent--)
      const answer = (status: number, text: string): void => {
        res.statusCode = status
        res.end(text)
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const query = Object.fromEntries(url.searchParams)
      const body = Buffer.concat(chunks)
      const base = { query, headers: req.headers, bytes: body.length, receivedAt: Date.now(), ...parseName(query.name ?? '') }
      const refuse = (status: number, text: string): void => {
        this.#record({ ...base, status, profile: null, kind: 'unknown', gzipped: false })
        answer(status, text)
      }
      if (req.method !== 'POST' || url.pathname !== '/ingest') return refuse(404, 'not found')
      if (
        query.format !== 'pprof' ||
        query.name === undefined ||
        !/^\d+$/.test(query.from ?? '') ||
        !/^\d+$/.test(query.until ?? '') ||
        query.spyName === undefined
      ) {
        return refuse(400, `bad ingest query: ${url.search}`)
      }
      if (String(req.headers['content-type'] ?? '').startsWith('multipart/')) return refuse(415, 'this test server takes the raw body of @pyroscope/nodejs 0.6')
      const raw = body
      const gzipped = raw[0] === 0x1f && raw[1] === 0x8b
      let profile: Profile
      try {
        profile = Profile.decode(gzipped ? gunzipSync(raw) : raw)
      } catch (err) {
        return refuse(422, `not a pprof profile: ${(err as Error).message}`)
      }
      const mode = this.mode
      if (mode.kind === 'status') {
        this.#record({ ...base, status: mode.status, profile, kind: kindOf(profile), gzipped })
        return answer(mode.status, 'refused by the test server')
      }
      const accept = (): void => {
        this.#record({ ...base, status: 200, profile, kind: kindOf(profile), gzipped })
        answer(200, '')
      }
      if (mode.kind === 'slow') {
        const t = setTimeout(() => {
          this.#timers.delete(t)
          if (!res.destroyed) accept()
        }, mode.delayMs)
        this.#timers.add(t)
        // A client that gave up takes the pending answer with it.
        res.once('close', () => {
          clearTimeout(t)
          this.#timers.delete(t)
        })
      } else accept()
    })
  }

  #record(upload: Upload): void {
    this.uploads.push(upload)
    for (const w of this.#waiters.splice(0)) w()
  }
}
