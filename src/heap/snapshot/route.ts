import { type ReadStream, createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { sendError } from '../../http/respond.js'
import { type Route, type RouteContext, flagParam } from '../../http/routes.js'
import { flushLogger } from '../../logging/logger.js'
import type { SnapshotAssessment, SnapshotGuard } from './guard.js'
import { SnapshotWriteError, type WrittenSnapshot, removeQuietly, writeSnapshotFile } from './write.js'

/** How pipeline fails when the client goes away mid-download. */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED'])

/** The most of a request body this route reads before refusing it: a POST here carries nothing it uses. */
const MAX_BODY_BYTES = 16 * 1024

/**
 * Chunks the file is read in. A backpressured response only says it took more ('drain') once a
 * whole chunk has gone to the kernel: this is the grain in which a slow client's progress is seen
 * (64 KiB per idleTimeoutMs, 2 KiB/s at the default, is the slowest that counts as reading).
 */
const CHUNK_BYTES = 64 * 1024

/** Whether `Accept-Encoding` accepts gzip (`gzip` or `x-gzip` with a non-zero q). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim())
    if (name !== 'gzip' && name !== 'x-gzip') continue
    const q = params.find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

/** `heap-<pid>-<ISO 8601 basic>.heapsnapshot`: no colons, so every OS keeps the name. */
export function downloadName(pid: number, at: number): string {
  const iso = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `heap-${pid}-${iso}.heapsnapshot`
}

/**
 * `GET`/`POST /debug/heap`: a guarded heap snapshot download (`?force=1` sets aside the memory and
 * disk estimates, never the lock or the cooldown). `HEAD` answers what a GET would get now, and
 * never takes one.
 */
export function snapshotRoute(guard: SnapshotGuard): Route {
  return {
    path: '/debug/heap',
    methods: ['GET', 'POST'],
    kind: 'debug',
    handle: function heapSnapshotRoute(ctx) {
      return handleSnapshot(guard, ctx)
    },
  }
}

async function handleSnapshot(guard: SnapshotGuard, ctx: RouteContext): Promise<void> {
  const { req, res, method, audit } = ctx
  const force = flagParam(ctx.query, 'force')
  if (force) audit.forced = true
  const head = method === 'HEAD'
  const arrival = await requestArrival(req, MAX_BODY_BYTES)
  // The client left, or the server answered a body it could not parse (its 400 is what the client
  // got, and what the audit line says): nothing is weighed, counted or taken for it.
  if (arrival === 'failed' || res.destroyed) return
  if (arrival === 'too-large') {
    audit.outcome = 'bad-request'
    // The rest of the body is never read: the connection cannot carry another request.
    res.setHeader('Connection', 'close')
    sendError(res, 'OOMKIT_BAD_REQUEST', `${method.slice(0, 20)} /debug/heap takes no body; this one is over ${MAX_BODY_BYTES} bytes`, {}, head)
    return
  }
  const a = head ? guard.assess(force, true) : guard.acquire(force)
  // forced says what was asked; overridden, that a refusal was really set aside.
  if (a.overridden) audit.overridden = true
  audit.neededBytes = a.neededBytes
  audit.headroomBytes = a.headroom.headroomBytes
  res.setHeader('X-Oomkit-Needed-Bytes', String(a.neededBytes))
  res.setHeader('X-Oomkit-Headroom-Bytes', String(a.headroom.headroomBytes))
  if (a.refusal !== null) {
    audit.outcome = a.refusal.outcome
    if (!head) guard.count(a.refusal.outcome)
    if (a.refusal.retryAfterSeconds !== null) res.setHeader('Retry-After', String(a.refusal.retryAfterSeconds))
    sendError(res, a.refusal.code, a.refusal.message, { ...a.refusal.extra }, head)
    return
  }
  if (head) {
    audit.outcome = 'possible'
    res.statusCode = 200
    res.setHeader('Content-Type', 'application/octet-stream')
    res.end()
    return
  }
  try {
    const written = take(guard, ctx, a, force)
    if (written !== null) await send(guard, ctx, written)
  } finally {
    guard.release()
  }
}

/** How much of a request arrived: all of it, not all of it (the client left, the parser failed), or a body over the limit. */
type Arrival = 'complete' | 'failed' | 'too-large'

/**
 * Resolves once the whole request has arrived, its body (at most `limit` bytes) read and dropped.
 * Until then nothing may be taken: node runs the handler once the headers are in, and a body it
 * cannot parse (an unknown transfer coding, a bad chunk size, a bare LF) gets the server's 400
 * afterwards, so a snapshot taken at once would block the event loop and start the cooldown for
 * a download nobody gets.
 */
function requestArrival(req: IncomingMessage, limit: number): Promise<Arrival> {
  // A body parser in front of oomkit (Express) may have read it already.
  if (req.readableEnded) return Promise.resolve('complete')
  if (req.destroyed) return Promise.resolve('failed')
  if (Number(req.headers['content-length']) > limit) return Promise.resolve('too-large')
  return new Promise((resolve) => {
    let bytes = 0
    function settle(arrival: Arrival): void {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFailed)
      req.off('close', onClose)
      resolve(arrival)
    }
    function onData(chunk: Buffer): void {
      bytes += chunk.length
      if (bytes <= limit) return
      req.pause()
      settle('too-large')
    }
    function onEnd(): void {
      settle('complete')
    }
    // With a listener, node reports an aborted request as an error (ECONNRESET "aborted").
    function onFailed(): void {
      settle('failed')
    }
    function onClose(): void {
      settle(req.complete && req.readableEnded ? 'complete' : 'failed')
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFailed)
    req.on('close', onClose)
    req.resume()
  })
}

/** Writes the snapshot (the event loop stops here), or answers the failure and returns null. */
function take(guard: SnapshotGuard, ctx: RouteContext, a: SnapshotAssessment, force: boolean): WrittenSnapshot | null {
  const { logger } = guard.deps
  if (a.dir.ok !== true) throw new Error('snapshot directory not prepared')
  let blocked = false
  try {
    const written = writeSnapshotFile(a.dir.dir, function beforeSnapshot() {
      blocked = true
      const h = a.headroom
      logger.warn(
        {
          heapUsed: a.heapUsedBytes,
          workingSet: h.workingSetBytes,
          limit: h.limitBytes,
          neededBytes: a.neededBytes,
          headroomBytes: h.headroomBytes,
          forced: force,
          overridden: a.overridden,
        },
        'heap snapshot starting',
      )
      // The next call blocks for seconds and may be the last thing this process does.
      flushLogger(logger)
    })
    guard.markTaken()
    const blockedMs = Math.round(written.blockedMs)
    logger.info({ bytes: written.bytes, blockedMs }, 'heap snapshot written')
    ctx.audit.snapshotBytes = written.bytes
    ctx.audit.blockedMs = blockedMs
    return written
  } catch (err) {
    if (blocked) guard.markTaken()
    const full = err instanceof SnapshotWriteError && err.diskFull
    guard.count(full ? 'disk_full' : 'error')
    ctx.audit.outcome = full ? 'disk_full' : 'error'
    logger.error({ err, dir: a.dir.dir }, full ? 'heap snapshot failed: the filesystem is full' : 'heap snapshot failed')
    const message = err instanceof Error ? err.message : String(err)
    sendError(
      ctx.res,
      full ? 'OOMKIT_DISK_FULL' : 'OOMKIT_SNAPSHOT_FAILED',
      full ? `No room for the heap snapshot in ${a.dir.dir}: ${message}` : `The heap snapshot could not be written: ${message}`,
    )
    return null
  }
}

/** Streams the file with backpressure; it is unlinked first, so nothing outlives the download. */
async function send(guard: SnapshotGuard, ctx: RouteContext, written: WrittenSnapshot): Promise<void> {
  const { req, res, audit } = ctx
  const { logger } = guard.deps
  const file = createReadStream(written.path, { fd: written.fd, highWaterMark: CHUNK_BYTES })
  // The open descriptor keeps the data readable; a crash or an abort from here on leaves no file.
  removeQuietly(written.path)
  const gzip = acceptsGzip(req.headers['accept-encoding'])
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/octet-stream')
  res.setHeader('Content-Disposition', `attachment; filename="${downloadName(process.pid, guard.now())}"`)
  res.setHeader('X-Oomkit-Snapshot-Bytes', String(written.bytes))
  res.setHeader('X-Oomkit-Blocked-Ms', String(Math.round(written.blockedMs)))
  res.setHeader('Vary', 'Accept-Encoding')
  if (gzip) res.setHeader('Content-Encoding', 'gzip')
  else res.setHeader('Content-Length', String(written.bytes))
  let stalled = false
  guard.downloadStarted()
  const watch = watchProgress(
    res,
    guard.idleTimeoutMs,
    function clientTookMore() {
      guard.downloadProgress()
    },
    function cutOffStalledDownload() {
      // The client has taken nothing for idleTimeoutMs: it holds the slot and the deleted file's
      // disk space for as long as it likes otherwise (a hung `curl | less`, a dead port-forward).
      stalled = true
      audit.stalled = true
      res.destroy()
    },
  )
  try {
    const zip = gzip ? createGzip({ level: 1 }) : null
    const done = zip === null ? pipeline(file, res) : pipeline(file, zip, res)
    // Attached once pipeline has started the flow, so it only watches it.
    const last = zip ?? file
    last.on('data', watch.progress)
    await done
    guard.count('ok')
    audit.outcome = 'ok'
  } catch (err) {
    const aborted = stalled || CLIENT_GONE.has((err as NodeJS.ErrnoException).code ?? '')
    guard.count(aborted ? 'aborted' : 'error')
    audit.outcome = aborted ? 'aborted' : 'error'
    // A client that goes away is an outcome, not a failure of oomkit's.
    const idleTimeoutMs = guard.idleTimeoutMs
    if (stalled) logger.info({ idleTimeoutMs }, `heap snapshot download cut off: the client accepted no bytes for ${idleTimeoutMs} ms`)
    else if (aborted) logger.info({}, 'heap snapshot download aborted by the client')
    else logger.error({ err }, 'heap snapshot download failed')
    res.destroy()
  } finally {
    watch.stop()
    await closed(file)
  }
}

/** What {@link watchProgress} returns. */
interface ProgressWatch {
  /** The client took more: restarts the idle clock. */
  readonly progress: () => void
  /** Stops the clock and the listener; call it on every way out. */
  readonly stop: () => void
}

/**
 * Calls `onStall` once the response has waited idleMs on the client without progress: no chunk
 * handed to it and no 'drain' while it is backpressured (or while its last bytes wait after
 * `end()`). Time alone never counts: a slow client that keeps reading keeps the download, and a
 * pause on oomkit's side (the file, gzip) is not the client's. `onProgress` sees each sign of
 * progress. The timer is unref'd.
 */
function watchProgress(res: ServerResponse, idleMs: number, onProgress: () => void, onStall: () => void): ProgressWatch {
  const timer = setTimeout(function downloadIdle() {
    const waitingOnClient = res.writableNeedDrain || (res.writableEnded && !res.writableFinished)
    if (waitingOnClient) onStall()
    else timer.refresh()
  }, idleMs)
  timer.unref()
  function progress(): void {
    timer.refresh()
    onProgress()
  }
  res.on('drain', progress)
  return {
    progress,
    stop() {
      clearTimeout(timer)
      res.off('drain', progress)
    },
  }
}

/**
 * Resolves once the file's descriptor is closed. Never rejects: after a failed pipeline the stream
 * still emits that same failure ('error', then 'close'), and a client abort is no error here.
 */
function closed(file: ReadStream): Promise<void> {
  if (file.closed) return Promise.resolve()
  return new Promise((resolve) => {
    file.on('error', function alreadyHandled() {})
    file.once('close', () => resolve())
    file.destroy()
  })
}
