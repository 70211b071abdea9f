import { closeSync, constants, fchmodSync, lstatSync, openSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The files of `<diagnosticsDir>/last-words`: their names, how they are written (0600, never over
 * an existing file, never through a link) and how the directory is kept bounded.
 */

/** The sub-directory of `diagnosticsDir` last words, run markers and Node's fatal-error reports go to. */
export const LAST_WORDS_SUBDIR = 'last-words'

/** What one capture writes, in the order it writes them. */
export const LAST_WORDS_KINDS = Object.freeze({
  /** Cause, working set, limit, growth, top (growing) sites: small, written first. */
  summary: 'json',
  /** The memory report (`kit.report()`). */
  report: 'json',
  /** Node's diagnostic report (`process.report.getReport()`), environment values redacted. */
  'node-report': 'json',
  /** The growing sites after a fresh profile, and the trend. */
  sites: 'json',
  /** The heap profile, gzipped pprof. */
  heap: 'pb.gz',
} as const)

/** One kind of last-words file. */
export type LastWordsKind = keyof typeof LAST_WORDS_KINDS

/** `<ISO basic time>-<pid>-<kind>.<ext>`, e.g. `20250102T030405.678Z-1-summary.json`. */
export const LAST_WORDS_FILE = /^(\d{8}T\d{6}\.\d{3}Z)-(\d+)-(summary|report|node-report|sites|heap)\.(?:json|pb\.gz)$/

/** Node's own report names (`report.<date>.<time>.<pid>.<thread>.<seq>.json`), as a fatal error writes them. */
export const NODE_REPORT_FILE = /^report\.\d{8}\.\d{6}\.(\d+)\.\d+\.\d+\.json$/

/** An epoch-ms time in ISO 8601 basic format: `20250102T030405.678Z` (sorts as it reads, no colons). */
export function basicTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '')
}

/** The name of one last-words file. */
export function lastWordsFileName(atMs: number, pid: number, kind: LastWordsKind): string {
  return `${basicTime(atMs)}-${pid}-${kind}.${LAST_WORDS_KINDS[kind]}`
}

/** The capture prefix of a last-words file name (`<time>-<pid>`), shared by the files of one capture. */
export function capturePrefix(name: string): string | null {
  const m = LAST_WORDS_FILE.exec(name)
  return m === null ? null : `${m[1]}-${m[2]}`
}

/**
 * Writes a new file `dir/name`, mode 0600: created with O_EXCL|O_NOFOLLOW (never over an existing
 * file, never through a planted link) and fchmod'ed, since the umask may have taken bits away.
 * Returns its path; throws the file system's error.
 */
export function writePrivateFile(dir: string, name: string, data: string | Uint8Array): string {
  const path = join(dir, name)
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    fchmodSync(fd, 0o600)
    writeFileSync(fd, data)
  } finally {
    closeSync(fd)
  }
  return path
}

/** One file the bound counts. */
export interface BoundedFile {
  readonly name: string
  readonly bytes: number
  readonly mtimeMs: number
}

/** Last-words files and Node's reports in `dir`, oldest first (by modification time, then name). */
export function listBounded(dir: string): BoundedFile[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const out: BoundedFile[] = []
  for (const name of names) {
    if (!LAST_WORDS_FILE.test(name) && !NODE_REPORT_FILE.test(name)) continue
    try {
      const st = lstatSync(join(dir, name))
      if (st.isFile()) out.push({ name, bytes: st.size, mtimeMs: st.mtimeMs })
    } catch {
      // Removed meanwhile.
    }
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name))
}

/** The bounds of the directory. */
export interface Bounds {
  readonly maxFiles: number
  readonly maxBytes: number
}

/**
 * Removes the oldest files until at most `maxFiles` remain and they hold at most `maxBytes`.
 * `keep` (the newest capture's summary) is never removed, so a bound smaller than one capture
 * still leaves its most valuable file. Returns the names removed.
 */
export function enforceBounds(dir: string, bounds: Bounds, keep: ReadonlySet<string> = new Set()): string[] {
  const files = listBounded(dir)
  let count = files.length
  let bytes = files.reduce((sum, f) => sum + f.bytes, 0)
  const removed: string[] = []
  for (const f of files) {
    if (count <= bounds.maxFiles && bytes <= bounds.maxBytes) break
    if (keep.has(f.name)) continue
    try {
      unlinkSync(join(dir, f.name))
    } catch {
      continue
    }
    removed.push(f.name)
    count--
    bytes -= f.bytes
  }
  return removed
}
