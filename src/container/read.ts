import { dirname, join, relative } from 'node:path'
import { type CgroupLocation, readText } from './locate.js'
import { type MemoryPressure, parseBytes, parseKeyed, parseLimit, parsePressure } from './parse.js'

/** The memory facts of the process's cgroup, as the kernel and the kubelet see them. Bytes, or null when unknown. */
export interface ContainerMemory {
  /** 1 or 2. */
  readonly cgroupVersion: 1 | 2
  /** The cgroup's path in its hierarchy (`/` inside a cgroup namespace). */
  readonly cgroupPath: string
  /** The effective limit: the smallest along the path. null means no limit (or unreadable). */
  readonly limitBytes: number | null
  /** `memory.current` (v2) or `memory.usage_in_bytes` (v1). */
  readonly usageBytes: number | null
  /** usage − inactive_file, floored at 0: what the kubelet evicts on and cAdvisor exports. */
  readonly workingSetBytes: number | null
  /** Anonymous memory: `anon` (v2) or `total_rss` (v1). */
  readonly rssBytes: number | null
  /** Page cache: `file` (v2) or `total_cache` (v1). */
  readonly cacheBytes: number | null
  /** `inactive_file` (v2) or `total_inactive_file` (v1). */
  readonly inactiveFileBytes: number | null
  /** OOM kills in this cgroup: `memory.events` oom_kill (v2) or `memory.oom_control` oom_kill (v1). */
  readonly oomKills: number | null
  /** PSI (`memory.pressure`), where the kernel has it. */
  readonly pressure: MemoryPressure | null
}

/**
 * cAdvisor's formula (and so `container_memory_working_set_bytes`): usage minus inactive file
 * pages, floored at 0. Without an inactive_file reading, cAdvisor reports the usage itself.
 */
export function workingSet(usage: number | null, inactiveFile: number | null): number | null {
  if (usage === null) return null
  if (inactiveFile === null) return usage
  return Math.max(0, usage - inactiveFile)
}

function minLimit(a: number | null, b: number | null): number | null {
  if (a === null) return b
  if (b === null) return a
  return Math.min(a, b)
}

// v2 limits are not inherited into the file: the effective limit is the smallest memory.max from
// the cgroup up to the mount (the namespace root).
function v2Limit(loc: CgroupLocation): number | null {
  let limit: number | null = null
  let dir = loc.dir
  for (;;) {
    limit = minLimit(limit, parseLimit(readText(join(dir, 'memory.max'))))
    if (dir === loc.mountDir || relative(loc.mountDir, dir).startsWith('..')) break
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return limit
}

function readV2(loc: CgroupLocation): ContainerMemory {
  const stat = parseKeyed(readText(join(loc.dir, 'memory.stat')))
  const usage = parseBytes(readText(join(loc.dir, 'memory.current')))
  const inactiveFile = stat.get('inactive_file') ?? null
  return {
    cgroupVersion: 2,
    cgroupPath: loc.cgroupPath,
    limitBytes: v2Limit(loc),
    usageBytes: usage,
    workingSetBytes: workingSet(usage, inactiveFile),
    rssBytes: stat.get('anon') ?? null,
    cacheBytes: stat.get('file') ?? null,
    inactiveFileBytes: inactiveFile,
    oomKills: parseKeyed(readText(join(loc.dir, 'memory.events'))).get('oom_kill') ?? null,
    pressure: parsePressure(readText(join(loc.dir, 'memory.pressure'))),
  }
}

function readV1(loc: CgroupLocation): ContainerMemory {
  const stat = parseKeyed(readText(join(loc.dir, 'memory.stat')))
  const usage = parseBytes(readText(join(loc.dir, 'memory.usage_in_bytes')))
  // total_* include descendants, matching usage_in_bytes, which is hierarchical.
  const inactiveFile = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? null
  const own = parseLimit(readText(join(loc.dir, 'memory.limit_in_bytes')))
  const hierarchical = stat.has('hierarchical_memory_limit') ? parseLimit(String(stat.get('hierarchical_memory_limit'))) : null
  return {
    cgroupVersion: 1,
    cgroupPath: loc.cgroupPath,
    limitBytes: minLimit(own, hierarchical),
    usageBytes: usage,
    workingSetBytes: workingSet(usage, inactiveFile),
    rssBytes: stat.get('total_rss') ?? stat.get('rss') ?? null,
    cacheBytes: stat.get('total_cache') ?? stat.get('cache') ?? null,
    inactiveFileBytes: inactiveFile,
    oomKills: parseKeyed(readText(join(loc.dir, 'memory.oom_control'))).get('oom_kill') ?? null,
    // v1 has no per-cgroup PSI file (memory.pressure_level is an eventfd notifier).
    pressure: null,
  }
}

/**
 * Reads the cgroup's memory files now. Never throws: a missing or garbled file yields null for
 * the values it carries. Synchronous on purpose: each file is a few µs, and a scrape or sample
 * must see one consistent moment.
 */
export function readContainerMemory(loc: CgroupLocation): ContainerMemory {
  return loc.version === 2 ? readV2(loc) : readV1(loc)
}
