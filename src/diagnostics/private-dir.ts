import { type StatsFs, chmodSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync, statfsSync, unlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * Private directories under `diagnosticsDir` for what oomkit writes to disk (heap snapshot temp
 * files, last words): 0700, owned by this process's user, never a symlink, checked for tmpfs
 * (whose pages are memory charged to the cgroup) and free space, swept of a crashed run's files.
 */

/** `statfs` f_type of tmpfs (linux/magic.h): its pages are memory, charged to the writer's cgroup. */
export const TMPFS_MAGIC = 0x01021994

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

/** A directory that is not safe to write secrets into; the message says why. */
export class PrivateDirError extends Error {}

const uid = (): number => process.getuid?.() ?? -1

/**
 * The parent may be shared (the default lives under /tmp): it must belong to us or root, and when
 * others may write to it, the sticky bit must stop them from renaming our directory away.
 */
function checkParent(root: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const real = realpathSync(root)
  const st = statSync(real)
  if (!st.isDirectory()) throw new PrivateDirError(`${real} is not a directory`)
  if (st.uid !== uid() && st.uid !== 0) throw new PrivateDirError(`${real} belongs to uid ${st.uid}, not to this process (uid ${uid()}) or root`)
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new PrivateDirError(`${real} is writable by others (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit`)
  }
  return real
}

/**
 * Creates `<root>/<name>` 0700 or checks an existing one: a real directory (never a symlink),
 * owned by this process's user; a looser mode is repaired to 0700. Throws PrivateDirError (or the
 * file system's error) when it cannot be made safe.
 */
export function ensurePrivateDir(root: string, name: string): string {
  const dir = join(checkParent(root), name)
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const st = lstatSync(dir)
  if (st.isSymbolicLink()) throw new PrivateDirError(`${dir} is a symbolic link`)
  if (!st.isDirectory()) throw new PrivateDirError(`${dir} is not a directory`)
  if (st.uid !== uid()) throw new PrivateDirError(`${dir} belongs to uid ${st.uid}, not to this process (uid ${uid()})`)
  // mkdir's mode passes through the umask, and an old directory may have been loosened since.
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
  if ((lstatSync(dir).mode & 0o777) !== 0o700) throw new PrivateDirError(`${dir} could not be set to mode 0700`)
  return dir
}

/** Why a directory could not be made private, for a message. */
export function privateDirReason(err: unknown): string {
  return err instanceof PrivateDirError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err))
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
 * Removes files a crashed run left behind: regular files whose name matches `pattern`, whose
 * first capture group is the pid that wrote them. Our own pid can only be a previous incarnation
 * (a restarted container is pid 1 again); a file of another live process is its work in flight,
 * and stays.
 */
export function sweepPrivateDir(dir: string, pattern: RegExp): SweepResult {
  let files = 0
  let bytes = 0
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return { files, bytes }
  }
  for (const name of names) {
    const m = pattern.exec(name)
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
