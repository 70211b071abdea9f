import { join } from 'node:path'
import { type CgroupLocation, readText } from './locate.js'
import { parseBytes, parseKeyed } from './parse.js'

/** cgroup v2 `memory.events`: how often the kernel acted on this cgroup's memory. */
export interface MemoryEvents {
  /** Times usage went over `memory.low` protection. */
  readonly low: number | null
  /** Times usage went over `memory.high` and was throttled into reclaim. */
  readonly high: number | null
  /** Times usage hit `memory.max` and the kernel had to reclaim to allocate. */
  readonly max: number | null
  /** Times reclaim failed at `memory.max` and the OOM killer was invoked. */
  readonly oom: number | null
  /** Processes the OOM killer killed in this cgroup. */
  readonly oomKill: number | null
}

/**
 * The kernel's own early signals, before any OOM kill: v2's `memory.events` and `memory.peak`, v1's
 * `memory.failcnt` (allocations that hit the limit) and `memory.max_usage_in_bytes`.
 */
export interface KernelSignals {
  /** v2 only; null on v1 or when unreadable. */
  readonly events: MemoryEvents | null
  /** Highest usage seen (`memory.peak` on v2, `memory.max_usage_in_bytes` on v1), or null. */
  readonly peakBytes: number | null
  /** v1 only: times usage hit the limit (`memory.failcnt`); null on v2. */
  readonly failcnt: number | null
}

/** Reads the kernel's early signals now. Never throws: what cannot be read is null. */
export function readKernelSignals(loc: CgroupLocation): KernelSignals {
  if (loc.version === 1) {
    return {
      events: null,
      peakBytes: parseBytes(readText(join(loc.dir, 'memory.max_usage_in_bytes'))),
      failcnt: parseBytes(readText(join(loc.dir, 'memory.failcnt'))),
    }
  }
  const text = readText(join(loc.dir, 'memory.events'))
  const e = parseKeyed(text)
  return {
    events:
      text === null
        ? null
        : { low: e.get('low') ?? null, high: e.get('high') ?? null, max: e.get('max') ?? null, oom: e.get('oom') ?? null, oomKill: e.get('oom_kill') ?? null },
    peakBytes: parseBytes(readText(join(loc.dir, 'memory.peak'))),
    failcnt: null,
  }
}
