import { readFileSync } from 'node:fs'
import { freemem } from 'node:os'
import { join } from 'node:path'
import type { ContainerMemory } from '../container/index.js'

/** How much memory the process may still take before the kernel (or the host) runs out. */
export interface Headroom {
  /** Bytes the process may still grow by. */
  readonly headroomBytes: number
  /** `cgroup`: limit − working set (capped by the host's MemAvailable); `host`: MemAvailable. */
  readonly source: 'cgroup' | 'host'
  readonly limitBytes: number | null
  readonly workingSetBytes: number | null
  readonly hostAvailableBytes: number
}

/**
 * The host's MemAvailable from `<procRoot>/meminfo` (the kernel's estimate of what can be
 * allocated without swapping), or `os.freemem()` where that file cannot be read.
 */
export function readHostAvailable(procRoot: string): number {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB$/m.exec(readFileSync(join(procRoot, 'meminfo'), 'utf8'))
    if (m !== null) return Number(m[1]) * 1024
  } catch {
    // A fixture procRoot has no meminfo: the host's own figure is the next best.
  }
  return freemem()
}

/**
 * Headroom as the OOM killer sees it: the cgroup's limit minus its working set (the kubelet's
 * and cAdvisor's measure), and never more than the host can actually give. Without a limit (or
 * without a working set reading) it is the host's available memory.
 */
export function computeHeadroom(container: ContainerMemory | null, hostAvailableBytes: number): Headroom {
  const limit = container?.limitBytes ?? null
  const workingSet = container?.workingSetBytes ?? null
  if (limit === null || workingSet === null) {
    return { headroomBytes: hostAvailableBytes, source: 'host', limitBytes: limit, workingSetBytes: workingSet, hostAvailableBytes }
  }
  const inCgroup = Math.max(0, limit - workingSet)
  return { headroomBytes: Math.min(inCgroup, hostAvailableBytes), source: 'cgroup', limitBytes: limit, workingSetBytes: workingSet, hostAvailableBytes }
}
