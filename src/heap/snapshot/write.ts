import { randomBytes } from 'node:crypto'
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeHeapSnapshot } from 'node:v8'
import { freeDiskBytes } from '../../diagnostics/private-dir.js'

/** How every `.heapsnapshot` file V8 writes begins. */
export const SNAPSHOT_HEADER = '{"snapshot":{"meta":'

/** Errno codes that mean the filesystem ran out of room (or quota, or file size limit). */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/** A truncated file with less than this free beside it is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024

/** A snapshot on disk, validated and open for reading. */
export interface WrittenSnapshot {
  readonly path: string
  /** Read-only descriptor at offset 0; whoever streams it closes it. */
  readonly fd: number
  readonly bytes: number
  /** How long `v8.writeHeapSnapshot` blocked the event loop. */
  readonly blockedMs: number
}

/** Writing or validating the snapshot failed; the temp file is already gone. */
export class SnapshotWriteError extends Error {
  constructor(
    /** The filesystem was full (ENOSPC, quota, or a truncated file on a full disk). */
    readonly diskFull: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'SnapshotWriteError'
  }
}

/** `heap-<pid>-<ms>-<random>.heapsnapshot`, the only names the start-up sweep removes. */
export function snapshotFileName(pid: number, nowMs: number): string {
  return `heap-${pid}-${nowMs}-${randomBytes(6).toString('hex')}.heapsnapshot`
}

function failed(what: string, err: unknown): SnapshotWriteError {
  const code = (err as NodeJS.ErrnoException).code
  return new SnapshotWriteError(code !== undefined && FULL_CODES.has(code), `${what} failed: ${code ?? (err as Error).message}`, { cause: err })
}

/**
 * Closes descriptors this process still holds on `path`. Node 20's `writeHeapSnapshot` returns
 * early on a write error (ENOSPC) without closing its file: the deleted file would keep its
 * blocks, and the disk would stay full, until the process exits. The path is a fresh random name
 * in a private directory, so any descriptor on it is that leaked one. Linux only (/proc).
 */
export function closeLeakedDescriptors(path: string): number {
  let closed = 0
  let fds: string[]
  try {
    fds = readdirSync('/proc/self/fd')
  } catch {
    return 0
  }
  for (const fd of fds) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (target !== path && target !== `${path} (deleted)`) continue
    try {
      closeSync(Number(fd))
      closed++
    } catch {
      // Closed meanwhile.
    }
  }
  return closed
}

/** Removes a file if it is there. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // Already gone.
  }
}

function readAt(fd: number, length: number, position: number): string {
  const buf = Buffer.alloc(length)
  const n = readSync(fd, buf, 0, length, position)
  return buf.subarray(0, n).toString('latin1')
}

/**
 * Opens a written snapshot without following links and checks it is V8's whole output (header
 * first, closing brace last), a regular file, mode 0600. A bad file is reported as a full disk
 * when the filesystem has (almost) nothing left: V8 may stop at ENOSPC without saying so.
 */
export function openValidated(path: string, dir: string): { fd: number; bytes: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new SnapshotWriteError(false, 'the snapshot temp file is not a regular file')
    if ((st.mode & 0o777) !== 0o600) fchmodSync(fd, 0o600)
    const head = st.size >= SNAPSHOT_HEADER.length ? readAt(fd, SNAPSHOT_HEADER.length, 0) : ''
    const tail = st.size > 0 ? readAt(fd, Math.min(64, st.size), Math.max(0, st.size - 64)).trimEnd() : ''
    if (head !== SNAPSHOT_HEADER || !tail.endsWith('}')) {
      const free = freeDiskBytes(dir)
      const full = free !== null && free < NEARLY_FULL_BYTES
      throw new SnapshotWriteError(full, `V8 wrote an incomplete heap snapshot (${st.size} bytes${full ? `, ${free} bytes left on the filesystem` : ''})`)
    }
    return { fd, bytes: st.size }
  } catch (err) {
    closeSync(fd)
    throw err
  }
}

/**
 * Writes a heap snapshot into `dir` (a private directory). The empty file is created first with
 * O_EXCL|O_NOFOLLOW and mode 0600 (fchmod'ed: a umask may have taken bits away), so V8 only ever
 * writes into a file that was never readable by anyone else. `beforeBlocking` runs just before
 * the event loop stops: the place to write (and flush) the log line that explains the pause.
 */
export function writeSnapshotFile(dir: string, beforeBlocking: () => void): WrittenSnapshot {
  const path = join(dir, snapshotFileName(process.pid, Date.now()))
  try {
    const created = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      fchmodSync(created, 0o600)
    } finally {
      closeSync(created)
    }
  } catch (err) {
    throw failed('creating the snapshot temp file', err)
  }
  try {
    beforeBlocking()
    const started = performance.now()
    try {
      writeHeapSnapshot(path)
    } catch (err) {
      closeLeakedDescriptors(path)
      throw failed('v8.writeHeapSnapshot', err)
    }
    const blockedMs = performance.now() - started
    return { path, blockedMs, ...openValidated(path, dir) }
  } catch (err) {
    removeQuietly(path)
    throw err
  }
}
