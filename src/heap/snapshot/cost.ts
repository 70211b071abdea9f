import { readHeapSpaces, readHeapUsed } from '../../memory/v8.js'

/**
 * Bytes of snapshot file per byte of heap used (measured 1.8–1.85× on heaps of small objects).
 * Counted against the headroom only when the file lands on tmpfs, whose pages are memory.
 */
export const FILE_BYTES_PER_HEAP_BYTE = 2

/**
 * What {@link estimateSnapshotCost} needs: V8's heap accounting, cheap to read (well under a
 * microsecond) and available without taking a snapshot.
 */
export interface HeapCostInput {
  /** `v8.getHeapStatistics().used_heap_size`. */
  usedHeapBytes: number
  /** Per space, `v8.getHeapSpaceStatistics()`'s `space_name` and `space_used_size`. */
  spaces: ReadonlyArray<{ name: string; usedBytes: number }>
}

/**
 * Coefficients of {@link estimateSnapshotCost}: an upper envelope of the peak extra RSS that
 * `v8.writeHeapSnapshot()` was measured to need, per used heap byte, on Node 20.20 (V8 11.3).
 * Measurements, the probes each factor comes from, and why the large-object factor is so
 * high: benchmarks/README.md, section "Heap snapshot cost model"
 * (`node --expose-gc benchmarks/heap-snapshot.bench.mjs` re-measures them).
 */
export const SNAPSHOT_COST_COEFFICIENTS = Object.freeze({
  /** Fixed cost: the snapshot of a bare Node process needed 26-35 MB. */
  baseBytes: 32_000_000,
  /**
   * Per byte used in the regular spaces (new, old, code, ...). Measured 3.4 (Dates) to ~9
   * (records, Maps of objects, closures), and up to 13.5 for the densest graphs (short unique
   * strings, boxed doubles): every object becomes a node with its edges, ~250-370 bytes of
   * snapshot state whatever the object's own size. 14.5 leaves ~7% over the worst measured.
   */
  regularSpaceFactor: 14.5,
  /**
   * Per byte used in the large-object spaces. They hold both the cheapest and the dearest
   * bytes, and the spaces' totals cannot tell them apart: a 1 MB string costs ~0 (the
   * snapshot keeps 1 KB of it), arrays of numbers ~0 (no edges), but an array, Map, Set or
   * dictionary of references up to ~152 per byte (~1.2 KB per 8-byte slot: V8 keeps a 1 KiB
   * buffer for each distinct index name). Priced at that worst case, with ~8% over it.
   */
  largeObjectSpaceFactor: 165,
})

/** Large-object spaces by name, across V8 versions (large_object_space, new_large_object_space, code_/shared_/trusted_...). */
function isLargeObjectSpace(name: string): boolean {
  return name.includes('large_object')
}

function checkBytes(what: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite number of bytes >= 0, got ${String(value)}`)
  }
  return value
}

/**
 * Estimates the peak extra RSS (bytes above the RSS just before the call) that
 * `v8.writeHeapSnapshot()` needs for a heap described by `input`. Meant to be an upper bound:
 * on every measured heap shape it was at least the measured peak. It is loose wherever the
 * heap is cheaper than the worst case its space totals allow: ~1.5-2x for records, ~2.5-3.5x
 * for Map-heavy heaps, and far more when large-object space holds big strings or arrays of
 * numbers (which cost almost nothing to snapshot).
 *
 * Bytes in `usedHeapBytes` that no reported space accounts for are priced as regular-space
 * bytes; with no spaces reported at all, the whole heap is priced at the large-object rate.
 *
 * @param input heap accounting, usually from {@link readHeapCostInput}
 * @returns bytes, an integer
 * @throws RangeError when a byte count is negative or not finite
 *
 * @example
 * ```ts
 * const neededBytes = estimateSnapshotCost(readHeapCostInput())
 * if (neededBytes > headroomBytes) refuse(neededBytes, headroomBytes)
 * ```
 */
export function estimateSnapshotCost(input: HeapCostInput): number {
  const c = SNAPSHOT_COST_COEFFICIENTS
  const used = checkBytes('usedHeapBytes', input.usedHeapBytes)
  if (input.spaces.length === 0) return Math.ceil(c.baseBytes + c.largeObjectSpaceFactor * used)
  let regular = 0
  let large = 0
  for (const space of input.spaces) {
    const bytes = checkBytes(`spaces[${space.name}].usedBytes`, space.usedBytes)
    if (isLargeObjectSpace(space.name)) large += bytes
    else regular += bytes
  }
  const unattributed = Math.max(0, used - regular - large)
  return Math.ceil(c.baseBytes + c.regularSpaceFactor * (regular + unattributed) + c.largeObjectSpaceFactor * large)
}

/**
 * Reads this process's {@link HeapCostInput} from `v8.getHeapStatistics()` and
 * `v8.getHeapSpaceStatistics()`. Call it right before deciding: it is cheap, and no GC is
 * forced (garbage still counted only makes the estimate safer).
 *
 * @example
 * ```ts
 * const input = readHeapCostInput() // { usedHeapBytes: 41943040, spaces: [{ name: 'old_space', ... }, ...] }
 * ```
 */
export function readHeapCostInput(): HeapCostInput {
  return {
    usedHeapBytes: readHeapUsed(),
    spaces: readHeapSpaces().map((s) => ({ name: s.name, usedBytes: s.usedBytes })),
  }
}
