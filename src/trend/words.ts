import type { GrowingKind, LimitKind } from './section.js'

/** What a trend sentence can say grows: a kind of memory, or only the working set (no one kind grows beyond noise on its own, yet the container's forecast stands). */
export type SentenceKind = GrowingKind | 'workingSet'

const KIND_WORDS: Record<SentenceKind, string> = {
  heap: 'in the V8 heap (JavaScript objects)',
  external: 'in external memory (Buffers and ArrayBuffers)',
  native: 'outside the V8 heap and buffers (native memory)',
  workingSet: 'in the working set (what the kernel charges the container)',
}

const LIMIT_WORDS: Record<LimitKind, string> = {
  container: 'the container limit is reached (the kernel kills the process: exit 137)',
  heap: "V8's heap limit is reached (JavaScript heap out of memory: exit 134)",
}

function rate(bytesPerSecond: number): string {
  const perMin = (bytesPerSecond * 60) / 1e6
  return perMin >= 10 ? `${Math.round(perMin)} MB/min` : `${perMin.toFixed(1)} MB/min`
}

/** Seconds as a reader wants them: "45 s", "47 min", "6.5 h". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 3 * 3600) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

/** "growing 3.1 MB/min in the V8 heap (JavaScript objects); at this rate the container limit is reached (...) in 47 min". */
export function trendSentence(kind: SentenceKind, bytesPerSecond: number, secondsToLimit: number | null, limit: LimitKind | null): string {
  const head = `growing ${rate(bytesPerSecond)} ${KIND_WORDS[kind]}`
  if (secondsToLimit === null || limit === null) return head
  return `${head}; at this rate ${LIMIT_WORDS[limit]} in ${duration(secondsToLimit)}`
}
