import type { ContainerMemory } from '../container/index.js'

/** How V8's heap limit relates to the container limit. */
export type BudgetVerdict = 'ok' | 'heap-limit-exceeds-container' | 'no-container-limit' | 'unknown'

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
  /** One sentence saying what is wrong and exactly what to set. */
  readonly message: string
}

const MiB = 1024 * 1024

function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`
}

/**
 * Compares V8's heap limit with the container limit. V8 sizes its heap from the host's memory,
 * not the cgroup's: Node 20 in a 256 MiB container gets a ~259 MB heap limit, so a leak grows
 * until the kernel's OOM killer sends SIGKILL (exit 137) and V8 never reports "heap out of memory".
 */
export function checkBudget(heapLimitBytes: number, container: ContainerMemory | null, heapRatio: number): Budget {
  if (container === null) {
    return {
      verdict: 'unknown', heapLimitBytes, containerLimitBytes: null, headroomBytes: null, recommendedMaxOldSpaceSizeMb: null,
      message: `No memory cgroup found: V8 heap limit is ${mib(heapLimitBytes)}, with no container limit to compare it to`,
    }
  }
  const limit = container.limitBytes
  if (limit === null) {
    return {
      verdict: 'no-container-limit', heapLimitBytes, containerLimitBytes: null, headroomBytes: null, recommendedMaxOldSpaceSizeMb: null,
      message: `No container memory limit: V8 heap limit is ${mib(heapLimitBytes)}; set a memory limit on the container so the kernel and V8 agree on how much there is`,
    }
  }
  const recommended = Math.max(16, Math.floor((limit * heapRatio) / MiB))
  const headroomBytes = limit - heapLimitBytes
  if (heapLimitBytes >= limit) {
    return {
      verdict: 'heap-limit-exceeds-container', heapLimitBytes, containerLimitBytes: limit, headroomBytes, recommendedMaxOldSpaceSizeMb: recommended,
      message: `V8 heap limit ${mib(heapLimitBytes)} exceeds the container limit ${mib(limit)}: the kernel will kill the process before V8 reports an out-of-memory; set NODE_OPTIONS=--max-old-space-size=${recommended}`,
    }
  }
  return {
    verdict: 'ok', heapLimitBytes, containerLimitBytes: limit, headroomBytes, recommendedMaxOldSpaceSizeMb: recommended,
    message: `V8 heap limit ${mib(heapLimitBytes)} fits the container limit ${mib(limit)}, leaving ${mib(headroomBytes)} for memory outside the JS heap`,
  }
}
