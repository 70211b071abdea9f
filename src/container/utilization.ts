import type { ContainerMemory } from './read.js'

/** Working set over limit (what the kubelet evicts on, against what the kernel kills at), or null when either is unknown. */
export function utilization(c: ContainerMemory | null): number | null {
  if (c === null || c.workingSetBytes === null || c.limitBytes === null || c.limitBytes === 0) return null
  return c.workingSetBytes / c.limitBytes
}
