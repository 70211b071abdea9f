import type { HeapSpace } from '../memory/sampler.js'

/**
 * How near V8's heap is to its own limit. `heap_size_limit` is the old generation's limit plus the
 * young generation's reserve (three semi-spaces: 3 MiB to 48 MiB on Node 20, more on newer V8),
 * and the live set after a major GC lives in the old generation. With `--max-old-space-size=48`
 * on a large host the limit reads 96 MiB and the old generation dies at 48: a ratio against
 * `heap_size_limit` would never come near. So the ratio is the old generation's use against
 * `--max-old-space-size` when the process was given it, else against `heap_size_limit` (where
 * V8 sized the heap itself, the young reserve is a few percent of it).
 */

const MiB = 1024 * 1024

/** The young generation's spaces: empty right after a major GC, not what runs out. */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space', 'semi_space'])

/** Splits NODE_OPTIONS the way Node does for the simple cases (spaces; double quotes group). */
function splitNodeOptions(value: string): string[] {
  const out: string[] = []
  for (const m of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? '')
  return out
}

/**
 * `--max-old-space-size` in bytes as the process got it, or null: the last one wins, from
 * NODE_OPTIONS first and then the command line (Node hands V8 both, command line last). Takes
 * `--max-old-space-size=N`, `--max_old_space_size=N` and the two-argument form.
 */
export function maxOldSpaceFlagBytes(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): number | null {
  const args = [...splitNodeOptions(nodeOptions ?? ''), ...execArgv]
  let mb: number | null = null
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const m = /^--max[-_]old[-_]space[-_]size(?:=(.*))?$/.exec(arg)
    if (m === null) continue
    const value = m[1] ?? args[i + 1]
    const n = Number(value)
    if (value !== undefined && value !== '' && Number.isFinite(n) && n > 0) mb = n
  }
  return mb === null ? null : Math.round(mb * MiB)
}

/** The old generation's limit: the flag (never above `heap_size_limit`), else `heap_size_limit`. */
export function oldGenerationLimit(heapSizeLimit: number, flagBytes: number | null): number {
  return flagBytes === null ? heapSizeLimit : Math.min(flagBytes, heapSizeLimit)
}

/** Bytes used in every space but the young generation's. */
export function oldGenerationUsed(spaces: readonly HeapSpace[]): number {
  let used = 0
  for (const s of spaces) if (!YOUNG_SPACES.has(s.name)) used += s.usedBytes
  return used
}

/** The heap-near reading: the old generation's use, its limit, and their ratio. */
export interface HeapNearness {
  readonly usedBytes: number
  readonly limitBytes: number
  readonly ratio: number
}

/** Weighs the heap spaces against the limit. */
export function heapNearness(spaces: readonly HeapSpace[], heapSizeLimit: number, flagBytes: number | null): HeapNearness {
  const usedBytes = oldGenerationUsed(spaces)
  const limitBytes = oldGenerationLimit(heapSizeLimit, flagBytes)
  return { usedBytes, limitBytes, ratio: limitBytes > 0 ? usedBytes / limitBytes : 0 }
}
