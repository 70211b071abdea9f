/**
 * Shared pieces of the heap snapshot tests: a capturing logger, a plain node:http client (one
 * connection per request, so concurrent requests really are concurrent), a snapshot parser that
 * checks the file's own bookkeeping, a cgroup fixture with no headroom left, and a kit served on
 * its own server or on an Express 4 or 5 app's port.
 */
import { cpSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, type IncomingHttpHeaders, type Server, createServer, request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import express5 from 'express'
import { Registry } from 'prom-client'
import { oomkitExpress } from '../../../middleware/express.js'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../../src/index.js'
import { fixture, roots } from '../../fixtures/cgroup/expected.js'
import { type LogLine, captureLog } from '../../helpers/logs.js'
import { sleep } from '../../helpers/time.js'

/** One parsed log line. */
export type Line = LogLine

/** A pino logger that keeps every line and calls `onLine` synchronously as each is written. */
export const capture = captureLog

/** A whole response. */
export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** Options of {@link get}. */
export interface GetOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** Destroy the connection as soon as the first body chunk arrives. */
  readonly abortAfterFirstChunk?: boolean
}

/**
 * Keep-alive, so the client never closes a connection right after a response: a close racing the
 * server's last write would make the server's audit line say "aborted" for a complete download.
 * Concurrent requests still get a connection each. Destroy it when done.
 */
export const keepAlive = new Agent({ keepAlive: true })

/** Sends one request (concurrent ones on their own connections) and reads the whole body, or aborts after a chunk. */
export function get(url: string, options: GetOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        if (options.abortAfterFirstChunk === true) {
          req.destroy()
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })
        }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', (err) => {
        if (options.abortAfterFirstChunk !== true) reject(err)
      })
    })
    req.on('error', (err) => {
      if (options.abortAfterFirstChunk !== true) reject(err)
    })
    req.end()
  })
}

/** The JSON error body of a refusal. */
export function jsonBody(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>
}

/** The parts of a `.heapsnapshot` the tests check. */
export interface ParsedSnapshot {
  readonly nodeCount: number
  readonly nodesFromArray: number
  readonly edgeCount: number
  readonly edgesFromArray: number
}

/** Parses a snapshot (gunzipping when asked) and counts nodes and edges both ways. */
export function parseSnapshot(body: Buffer, gzipped = false): ParsedSnapshot {
  const text = (gzipped ? gunzipSync(body) : body).toString('utf8')
  const snap = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; edge_fields: string[] }; node_count: number; edge_count: number }
    nodes: number[]
    edges: number[]
  }
  return {
    nodeCount: snap.snapshot.node_count,
    nodesFromArray: snap.nodes.length / snap.snapshot.meta.node_fields.length,
    edgeCount: snap.snapshot.edge_count,
    edgesFromArray: snap.edges.length / snap.snapshot.meta.edge_fields.length,
  }
}

/** `oomkit_heap_snapshots_total{outcome}` now. */
export async function snapshotCount(registry: Registry, outcome: string): Promise<number> {
  const metric = registry.getSingleMetric('oomkit_heap_snapshots_total')
  if (metric === undefined) throw new Error('oomkit_heap_snapshots_total is not registered')
  const values = (await metric.get()).values
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0
}

/** Link targets of this process's open descriptors that point into `dir`. */
export function openFilesIn(dir: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd))
      if (target.startsWith(dir)) out.push(target)
    } catch {
      // Closed while listing (the readdir fd itself).
    }
  }
  return out
}

const created: string[] = []

/** A fresh temp directory (removed by {@link removeTempDirs}). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `oomkit-${prefix}-`))
  created.push(dir)
  return dir
}

/** A path for a directory on /dev/shm (tmpfs), not created yet; removed by {@link removeTempDirs}. */
export function shmPath(prefix: string): string {
  const dir = join('/dev/shm', `oomkit-${prefix}-${process.pid}-${created.length}-${Date.now()}`)
  created.push(dir)
  return dir
}

/** Removes every directory {@link tempDir} and {@link shmPath} handed out. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/**
 * A copy of the v2-limited-256m fixture whose working set sits 1 MiB under the 256 MiB limit:
 * any snapshot is refused for headroom, deterministically.
 */
export function tightCgroup(): { cgroupRoot: string; procRoot: string } {
  const src = fixture('v2-limited-256m')
  const root = tempDir('tight-cgroup')
  cpSync(src.root, root, { recursive: true })
  const cg = join(root, 'sys/fs/cgroup')
  writeFileSync(join(cg, 'memory.current'), `${256 * 1024 * 1024 - 1024 * 1024}\n`)
  writeFileSync(join(cg, 'memory.stat'), 'anon 266338304\nfile 0\ninactive_file 0\nactive_file 0\n')
  return { cgroupRoot: cg, procRoot: join(root, 'proc') }
}

/** Resolves after `ms`. */
export { sleep }

/** A kit {@link startKit} started. */
export interface Started {
  readonly kit: Oomkit
  readonly registry: Registry
  readonly lines: Line[]
  readonly diag: string
  readonly dir: string
  readonly url: string
}

const kits: Oomkit[] = []
const servers: Server[] = []

/** Stops every kit {@link startKit} and {@link serve} started, and closes their app servers (an afterEach hook). */
export async function stopKits(): Promise<void> {
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
  for (const kit of kits.splice(0)) await kit.stop()
}

/** A started kit on a fresh diagnosticsDir and the v2-unlimited cgroup fixture (headroom: the host's), listening on loopback; `onLine` sees each log line as it is written. */
export async function startKit(extra: OomkitOptions = {}, onLine?: (line: Line, dir: string) => void, diag = tempDir('diag')): Promise<Started> {
  const dir = join(diag, 'snapshots')
  const registry = new Registry()
  const { logger, lines } = capture(onLine === undefined ? undefined : (line) => onLine(line, dir))
  const kit = createOomkit({
    logger,
    registry,
    logIntervalMs: 0,
    sampleIntervalMs: 60_000,
    defaultMetrics: false,
    diagnosticsDir: diag,
    ...roots('v2-unlimited'),
    ...extra,
  })
  kits.push(kit)
  kit.start()
  const server = await kit.listen({ port: 0 })
  return { kit, registry, lines, diag, dir, url: `${server.url}/debug/heap` }
}

/** Waits until the server side of a download is done: lock released, counter and audit line written. */
export async function settle(kit: Oomkit): Promise<void> {
  for (let i = 0; i < 400 && (kit.report().snapshot as { inProgress: boolean }).inProgress; i++) await sleep(25)
  if ((kit.report().snapshot as { inProgress: boolean }).inProgress) throw new Error('the snapshot lock was not released within 10 s')
  await sleep(20)
}

/** The audit lines of /debug/heap requests. */
export const audits = (lines: Line[]): Line[] => lines.filter((l) => l.audit === true && l.route === '/debug/heap')

// express4 is `npm:express@4` and ships no types: loaded as CommonJS, typed as Express.
const express4 = createRequire(import.meta.url)('express4') as typeof express5

/** Where {@link serve} mounts `/debug/heap`: oomkit's own server, or an Express app's port. */
export type Target = 'standalone' | 'Express 5' | 'Express 4'

/** Every {@link Target}, for `describe.each`. */
export const TARGETS: readonly Target[] = ['standalone', 'Express 5', 'Express 4']

/** The bearer token {@link serve} configures everywhere (the app's port needs one). */
export const TOKEN = 'heap-t0ken'

/** A kit {@link serve} started. */
export interface Served extends Started {
  readonly port: number
  /** The Authorization header {@link TOKEN} needs. */
  readonly auth: Record<string, string>
}

/**
 * A started kit as {@link startKit} makes it, with a token, served on `target`: `kit.listen()`,
 * or `oomkitExpress(kit, { token })` mounted on an Express app behind node's own HTTP server
 * (whose default clientError handling answers what it cannot parse).
 */
export async function serve(target: Target, extra: OomkitOptions = {}, diag = tempDir('diag')): Promise<Served> {
  const dir = join(diag, 'snapshots')
  const registry = new Registry()
  const { logger, lines } = capture()
  const base = { logger, registry, logIntervalMs: 0, sampleIntervalMs: 60_000, defaultMetrics: false, diagnosticsDir: diag, ...roots('v2-unlimited') }
  const kit = createOomkit({ ...base, ...extra })
  kits.push(kit)
  kit.start()
  let port: number
  if (target === 'standalone') {
    port = (await kit.listen({ port: 0, token: TOKEN })).address.port
  } else {
    const app = target === 'Express 5' ? express5() : express4()
    app.use(oomkitExpress(kit, { token: TOKEN }))
    const server = createServer(app)
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  }
  return { kit, registry, lines, diag, dir, port, url: `http://127.0.0.1:${port}/debug/heap`, auth: { authorization: `Bearer ${TOKEN}` } }
}
