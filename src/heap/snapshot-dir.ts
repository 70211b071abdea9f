import { type StatsFs, chmodSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync, statfsSync, unlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** `statfs` f_type of tmpfs (linux/magic.h): its pages are memory, charged to the writer's cgroup. */
export const TMPFS_MAGIC = 0x01021994

/** Where snapshots go when `diagnosticsDir` is on tmpfs and tmpfs is not allowed. */
export const FALLBACK_SNAPSHOT_ROOT = '/var/tmp/oomkit'

/** Temp file names: `heap-<pid>-<ms>-<random>.heapsnapshot`; the sweep removes only these. */
export const SNAPSHOT_FILE_PATTERN = /^heap-(\d+)-\d+-[0-9a-f]+\.heapsnapshot$/

/** The directory snapshots are written to, or why there is none. */
export type SnapshotDir =
  | { readonly ok: true; readonly dir: string; readonly onTmpfs: boolean; readonly fallback: boolean }
  | { readonly ok: false; readonly dir: string; readonly onTmpfs: boolean; readonly code: 'OOMKIT_SNAPSHOT_DIR_TMPFS' | 'OOMKIT_SNAPSHOT_DIR_UNUSABLE'; readonly message: string }

/** statfs of `path`, or of its nearest existing ancestor (for a directory not created yet). */
function statfsNearest(path: string): StatsFs | null {
  let p = path
  for (;;) {
    try {
      return statfsSync(p)
    } catch {
      const up = dirname(p)
      if (up === p) return null
      p = up
    }
  }
}

/** Whether the filesystem holding `path` (or its nearest existing ancestor) is tmpfs. */
export function isOnTmpfs(path: string): boolean {
  return statfsNearest(path)?.type === TMPFS_MAGIC
}

/** Free bytes for an unprivileged writer on the filesystem of `path` (or its nearest existing ancestor). */
export function freeDiskBytes(path: string): number | null {
  const s = statfsNearest(path)
  return s === null ? null : s.bavail * s.bsize
}

class DirError extends Error {}

const uid = (): number => process.getuid?.() ?? -1

/**
 * The parent may be shared (the default lives under /tmp): it must belong to us or root, and when
 * others may write to it, the sticky bit must stop them from renaming our directory away.
 */
function checkParent(root: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const real = realpathSync(root)
  const st = statSync(real)
  if (!st.isDirectory()) throw new DirError(`${real} is not a directory`)
  if (st.uid !== uid() && st.uid !== 0) throw new DirError(`${real} belongs to uid ${st.uid}, not to this process (uid ${uid()}) or root`)
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) throw new DirError(`${real} is writable by others (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit`)
  return real
}

/**
 * Creates `<root>/snapshots` 0700 or checks an existing one: a real directory (never a symlink),
 * owned by this process's user; a looser mode is repaired to 0700. Throws DirError.
 */
function ensurePrivateDir(root: string): string {
  const dir = join(checkParent(root), 'snapshots')
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const st = lstatSync(dir)
  if (st.isSymbolicLink()) throw new DirError(`${dir} is a symbolic link`)
  if (!st.isDirectory()) throw new DirError(`${dir} is not a directory`)
  if (st.uid !== uid()) throw new DirError(`${dir} belongs to uid ${st.uid}, not to this process (uid ${uid()})`)
  // mkdir's mode passes through the umask, and an old directory may have been loosened since.
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
  if ((lstatSync(dir).mode & 0o777) !== 0o700) throw new DirError(`${dir} could not be set to mode 0700`)
  return dir
}

function prepareOne(root: string): SnapshotDir {
  const planned = join(root, 'snapshots')
  try {
    const dir = ensurePrivateDir(root)
    return { ok: true, dir, onTmpfs: isOnTmpfs(dir), fallback: false }
  } catch (err) {
    const why = err instanceof DirError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err))
    return { ok: false, dir: planned, onTmpfs: isOnTmpfs(planned), code: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE', message: `The heap snapshot directory ${planned} cannot be used: ${why}; set diagnosticsDir to a directory this process owns` }
  }
}

/**
 * Finds (and creates) the directory for snapshot temp files. On tmpfs the file's pages count
 * against the container's memory limit, right when the snapshot itself needs the most memory; so
 * unless `allowTmpfs`, a tmpfs `diagnosticsDir` falls back to `fallbackRoot` (on disk), and when
 * that is tmpfs too the snapshot is refused.
 */
export function prepareSnapshotDir(diagnosticsDir: string, allowTmpfs: boolean, fallbackRoot = FALLBACK_SNAPSHOT_ROOT): SnapshotDir {
  if (allowTmpfs || !isOnTmpfs(diagnosticsDir)) return prepareOne(diagnosticsDir)
  if (isOnTmpfs(fallbackRoot)) {
    return {
      ok: false, dir: join(diagnosticsDir, 'snapshots'), onTmpfs: true, code: 'OOMKIT_SNAPSHOT_DIR_TMPFS',
      message: `diagnosticsDir (${diagnosticsDir}) and the fallback ${fallbackRoot} are on tmpfs, whose pages count against the memory limit; set diagnosticsDir to a disk-backed volume, or snapshot: { allowTmpfs: true }`,
    }
  }
  const out = prepareOne(fallbackRoot)
  return out.ok ? { ...out, fallback: true } : out
}

/** Where snapshots would go, without creating anything (for the report before the first use). */
export function plannedSnapshotDir(diagnosticsDir: string, allowTmpfs: boolean, fallbackRoot = FALLBACK_SNAPSHOT_ROOT): { dir: string; onTmpfs: boolean } {
  const tmpfs = isOnTmpfs(diagnosticsDir)
  if (allowTmpfs || !tmpfs) return { dir: join(diagnosticsDir, 'snapshots'), onTmpfs: tmpfs }
  if (isOnTmpfs(fallbackRoot)) return { dir: join(diagnosticsDir, 'snapshots'), onTmpfs: true }
  return { dir: join(fallbackRoot, 'snapshots'), onTmpfs: false }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** What a sweep removed. */
export interface SweepResult {
  readonly files: number
  readonly bytes: number
}

/**
 * Removes snapshot temp files a crashed run left behind. Our own pid can only be a previous
 * incarnation (a restarted container is pid 1 again); a file of another live process is its
 * snapshot in flight, and stays. Only regular files matching the temp name are touched.
 */
export function sweepSnapshotDir(dir: string): SweepResult {
  let files = 0
  let bytes = 0
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return { files, bytes }
  }
  for (const name of names) {
    const m = SNAPSHOT_FILE_PATTERN.exec(name)
    if (m === null) continue
    const pid = Number(m[1])
    if (pid !== process.pid && alive(pid)) continue
    try {
      const st = lstatSync(join(dir, name))
      if (!st.isFile()) continue
      unlinkSync(join(dir, name))
      files++
      bytes += st.size
    } catch {
      // Gone already, or not ours to remove: the next sweep tries again.
    }
  }
  return { files, bytes }
}

