import type { ContainerMemory } from '../container/index.js'

/** How V8's heap limit relates to the container limit. */
export type BudgetVerdict = 'ok' | 'heap-limit-exceeds-container' | 'heap-limit-far-below-container' | 'no-container-limit' | 'unknown'

/** The start-up budget check: V8's heap limit against the container's memory limit. */
export interface Budget {
  readonly verdict: BudgetVerdict
  /** `v8.getHeapStatistics().heap_size_limit`. */
  readonly heapLimitBytes: number
  /** The cgroup's effective limit, or null. */
  readonly containerLimitBytes: number | null
  /** Container limit minus heap limit: what is left for everything outside the JS heap (negative when exceeded). */
  readonly headroomBytes: number | null
  /** `--max-old-space-size` to set, in MiB (`heapRatio` of the limit), or null without a limit. */
  readonly recommendedMaxOldSpaceSizeMb: number | null
  /**
   * The flag to put in `NODE_OPTIONS`: `--max-old-space-size-percentage=N` where the running Node
   * accepts it (22.21+, 24: it follows a limit that VPA or an in-place resize changes), else
   * `--max-old-space-size=N`; null without a limit.
   */
  readonly recommendedFlag: string | null
  /** One sentence saying what is wrong and exactly what to set. */
  readonly message: string
}

const MiB = 1024 * 1024

/** Below this share of the container limit, the heap limit is "far below" it: V8 fails first while the container has room. */
export const FAR_BELOW_SHARE = 0.5

/** What the running Node accepts. */
export interface HeapFlagSupport {
  /** `--max-old-space-size-percentage` (Node 22.21+ and 24). */
  readonly percentage: boolean
}

/** What this Node accepts, read from `process.allowedNodeEnvironmentFlags` (flags allowed in NODE_OPTIONS). */
export function heapFlagSupport(): HeapFlagSupport {
  return { percentage: process.allowedNodeEnvironmentFlags.has('--max-old-space-size-percentage') }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`
}

/**
 * Compares V8's heap limit with the container limit. V8 sizes its heap from the host's memory,
 * not the cgroup's: Node 20 in a 256 MiB container gets a ~259 MB heap limit, so a leak grows
 * until the kernel's OOM killer sends SIGKILL (exit 137) and V8 never reports "heap out of memory".
 */
export function checkBudget(heapLimitBytes: number, container: ContainerMemory | null, heapRatio: number, flags: HeapFlagSupport = heapFlagSupport()): Budget {
  if (container === null) {
    return {
      verdict: 'unknown',
      heapLimitBytes,
      containerLimitBytes: null,
      headroomBytes: null,
      recommendedMaxOldSpaceSizeMb: null,
      recommendedFlag: null,
      message: `No memory cgroup found: V8 heap limit is ${mib(heapLimitBytes)}, with no container limit to compare it to`,
    }
  }
  const limit = container.limitBytes
  if (limit === null) {
    return {
      verdict: 'no-container-limit',
      heapLimitBytes,
      containerLimitBytes: null,
      headroomBytes: null,
      recommendedMaxOldSpaceSizeMb: null,
      recommendedFlag: null,
      message: `No container memory limit: V8 heap limit is ${mib(heapLimitBytes)}; set a memory limit on the container so the kernel and V8 agree on how much there is`,
    }
  }
  const recommended = Math.max(16, Math.floor((limit * heapRatio) / MiB))
  const percent = Math.round(heapRatio * 100)
  const recommendedFlag = flags.percentage ? `--max-old-space-size-percentage=${percent}` : `--max-old-space-size=${recommended}`
  // With the percentage flag the fixed value is still named: it is what older Nodes in the fleet need.
  const advice = flags.percentage
    ? `set NODE_OPTIONS=${recommendedFlag} (it follows the limit when it changes; --max-old-space-size=${recommended} on Nodes without it)`
    : `set NODE_OPTIONS=${recommendedFlag}`
  const headroomBytes = limit - heapLimitBytes
  const base = { heapLimitBytes, containerLimitBytes: limit, headroomBytes, recommendedMaxOldSpaceSizeMb: recommended, recommendedFlag }
  if (heapLimitBytes >= limit) {
    return {
      verdict: 'heap-limit-exceeds-container',
      ...base,
      message: `V8 heap limit ${mib(heapLimitBytes)} exceeds the container limit ${mib(limit)}: the kernel will kill the process before V8 reports an out-of-memory; ${advice}`,
    }
  }
  if (heapLimitBytes < FAR_BELOW_SHARE * limit) {
    return {
      verdict: 'heap-limit-far-below-container',
      ...base,
      message: `V8 heap limit ${mib(heapLimitBytes)} is far below the container limit ${mib(limit)}: V8 will fail with "JavaScript heap out of memory" while the container still has room, and raising the container limit changes nothing; ${advice}`,
    }
  }
  return {
    verdict: 'ok',
    ...base,
    message: `V8 heap limit ${mib(heapLimitBytes)} fits the container limit ${mib(limit)}, leaving ${mib(headroomBytes)} for memory outside the JS heap`,
  }
}
