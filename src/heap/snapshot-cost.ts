import v8 from 'node:v8';
export interface HeapCostInput { usedHeapBytes: number; spaces: ReadonlyArray<{ name: string; usedBytes: number }> }
export function estimateSnapshotCost(input: HeapCostInput): number { return Math.round(input.usedHeapBytes * 10); }
export function readHeapCostInput(): HeapCostInput {
  return { usedHeapBytes: v8.getHeapStatistics().used_heap_size, spaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, usedBytes: s.space_used_size })) };
}
export const SNAPSHOT_COST_COEFFICIENTS = Object.freeze({ x: 10 });
