import { existsSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'

/** Where the process's memory cgroup lives, resolved against the (possibly relocated) cgroup root. */
export interface CgroupLocation {
  /** cgroup version of the memory controller. */
  readonly version: 1 | 2
  /** The cgroup's path inside its hierarchy, as `/proc/self/cgroup` names it. */
  readonly cgroupPath: string
  /** Directory holding the cgroup's `memory.*` files. */
  readonly dir: string
  /** Directory where the hierarchy is mounted; limits are looked up from `dir` up to here. */
  readonly mountDir: string
}

interface MountEntry {
  root: string
  mountPoint: string
  fsType: string
  superOptions: string[]
}

const DEFAULT_CGROUP_MOUNT = '/sys/fs/cgroup'

/** Reads a file, or null when it is missing or unreadable: cgroup files vanish and vary by kernel. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const pre = line.slice(0, sep).split(' ')
    const post = line.slice(sep + 3).split(' ')
    const root = pre[3]
    const mountPoint = pre[4]
    const fsType = post[0]
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue
    out.push({ root: unescapeMount(root), mountPoint: unescapeMount(mountPoint), fsType, superOptions: (post[2] ?? '').split(',') })
  }
  return out
}

interface ProcCgroupLine {
  hierarchyId: string
  controllers: string[]
  path: string
}

function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = []
  for (const line of text.split('\n')) {
    const first = line.indexOf(':')
    const second = line.indexOf(':', first + 1)
    if (first < 0 || second < 0) continue
    out.push({
      hierarchyId: line.slice(0, first),
      controllers: line
        .slice(first + 1, second)
        .split(',')
        .filter(Boolean),
      path: line.slice(second + 1),
    })
  }
  return out
}

// Mount points in mountinfo are absolute on the real system; a relocated cgroupRoot (fixtures, a
// host path mounted elsewhere) maps the default mount prefix onto it.
function rebase(mountPoint: string, cgroupRoot: string): string {
  if (cgroupRoot === DEFAULT_CGROUP_MOUNT) return mountPoint
  if (mountPoint === DEFAULT_CGROUP_MOUNT) return cgroupRoot
  if (mountPoint.startsWith(`${DEFAULT_CGROUP_MOUNT}/`)) return join(cgroupRoot, mountPoint.slice(DEFAULT_CGROUP_MOUNT.length))
  return mountPoint
}

// The cgroup dir is the mount point plus the cgroup path relative to the mount's root; when the
// process's cgroup is outside what is mounted (a container without a cgroup namespace that sees
// the host's path), the mount point itself is the best view there is.
function cgroupDir(mount: MountEntry, cgroupPath: string, cgroupRoot: string, marker: string): { dir: string; mountDir: string } {
  const mountDir = rebase(mount.mountPoint, cgroupRoot)
  const rel = posix.relative(mount.root, cgroupPath)
  if (!rel.startsWith('..')) {
    const dir = rel === '' ? mountDir : join(mountDir, rel)
    if (existsSync(join(dir, marker))) return { dir, mountDir }
  }
  return { dir: mountDir, mountDir }
}

function fallbackProbe(cgroupRoot: string): CgroupLocation | null {
  if (existsSync(join(cgroupRoot, 'memory', 'memory.usage_in_bytes'))) {
    const dir = join(cgroupRoot, 'memory')
    return { version: 1, cgroupPath: '/', dir, mountDir: dir }
  }
  if (existsSync(join(cgroupRoot, 'memory.current'))) {
    return { version: 2, cgroupPath: '/', dir: cgroupRoot, mountDir: cgroupRoot }
  }
  return null
}

/**
 * Finds the memory cgroup of the current process from `<procRoot>/self/cgroup` and
 * `<procRoot>/self/mountinfo`. Returns null where there is no memory controller to read
 * (macOS, Windows, a v2 root without `memory.current`, no cgroup filesystem mounted).
 */
export function locateMemoryCgroup(procRoot: string, cgroupRoot: string): CgroupLocation | null {
  const cgroupText = readText(join(procRoot, 'self', 'cgroup'))
  const mountText = readText(join(procRoot, 'self', 'mountinfo'))
  if (cgroupText === null || mountText === null) return fallbackProbe(cgroupRoot)
  const lines = parseProcCgroup(cgroupText)
  const mounts = parseMountInfo(mountText)

  // Hybrid hosts have both; the memory controller is on v1 when a v1 line names it.
  const v1 = lines.find((l) => l.controllers.includes('memory'))
  if (v1 !== undefined) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'))
    if (mount === undefined) return fallbackProbe(cgroupRoot)
    const { dir, mountDir } = cgroupDir(mount, v1.path, cgroupRoot, 'memory.usage_in_bytes')
    if (!existsSync(join(dir, 'memory.usage_in_bytes'))) return null
    return { version: 1, cgroupPath: v1.path, dir, mountDir }
  }
  const v2 = lines.find((l) => l.hierarchyId === '0' && l.controllers.length === 0)
  const mount = mounts.find((m) => m.fsType === 'cgroup2')
  if (v2 === undefined || mount === undefined) return fallbackProbe(cgroupRoot)
  const { dir, mountDir } = cgroupDir(mount, v2.path, cgroupRoot, 'memory.current')
  // The v2 root cgroup has no memory.current: nothing to read as a container.
  if (!existsSync(join(dir, 'memory.current'))) return null
  return { version: 2, cgroupPath: v2.path, dir, mountDir }
}
