import { ERROR_CODES } from '../../errors.js'
import type { SnapshotStatus } from '../../heap/snapshot/guard.js'
import { type PreviousCrash, crashMessage } from '../../last-words/previous-crash.js'
import type { Budget } from '../../memory/budget.js'
import type { TrendSection } from '../../trend/section.js'
import { duration, trendSentence } from '../../trend/words.js'
import { bytes } from './format.js'

/**
 * The page's sentences: what the report's numbers mean, in words. Plain text (the renderer
 * escapes it); each verdict comes with a level the stylesheet colours.
 */

/** How a verdict is coloured: fine, worth a look, act now, or the capability is off. */
export type Level = 'ok' | 'warn' | 'bad' | 'info' | 'off'

/** One verdict in words: a headline, and the facts behind it. */
export interface Verdict {
  readonly level: Level
  readonly headline: string
  readonly details: readonly string[]
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

const OTHER_LIMIT = { container: 'the container limit', heap: "V8's heap limit" } as const

/** The trend and the forecast: what grows, how fast, which limit it reaches and when; or that nothing grows, or that the trend is off. */
export function trendWords(t: TrendSection | null): Verdict {
  if (t === null) return { level: 'off', headline: 'The trend is off (trend: false): no growth estimate, forecast or leak suspicion.', details: [] }
  const window = t.signals.workingSet.spanSeconds
  if (t.growing === null && t.secondsToLimit === null) {
    const details: string[] = []
    const heap = t.signals.heap
    if (heap.points < 4)
      details.push(`The V8 live set has been measured after ${heap.points} major GC${heap.points === 1 ? '' : 's'} so far; its trend needs 4.`)
    return {
      level: 'ok',
      headline:
        window > 0
          ? `Nothing is growing: no kind of memory grew beyond noise over the last ${duration(window)}.`
          : 'Nothing is growing (too few samples yet to tell).',
      details,
    }
  }
  // The working set can grow towards the container limit while no one kind does beyond noise on
  // its own (the V8 heap committing pages as it grows, say): the forecast stands, in its words.
  const kind = t.growing ?? 'workingSet'
  const rate = t.signals[kind].bytesPerSecond ?? 0
  const details: string[] = []
  for (const k of ['container', 'heap'] as const) {
    const f = t.forecasts[k]
    if (f !== undefined && k !== t.limit) details.push(`At this rate ${OTHER_LIMIT[k]} is reached in ${duration(f)}.`)
  }
  if (t.secondsToLimit === null) details.push('No limit is in reach at this rate.')
  details.push(
    t.growing === null
      ? 'No one kind of memory (V8 heap, external, native) grows beyond noise on its own: no leak suspicion.'
      : t.leakSuspected
        ? `A leak is suspected${t.suspectedSince === null ? '' : ` since ${t.suspectedSince}`}: the growth has been sustained beyond noise.`
        : `Not (yet) a leak suspicion: the detector asks for ${duration(t.evidenceSeconds)} of sustained growth before it raises one.`,
  )
  if (t.boundedBytes > 0) details.push(`${bytes(t.boundedBytes)} held by bounded caches is not counted as growth.`)
  if (t.watchdog.fast) details.push(`The watchdog samples every ${t.watchdog.intervalMs} ms while a limit is near.`)
  return {
    level: t.leakSuspected || (t.secondsToLimit !== null && t.secondsToLimit < 3600) ? 'bad' : 'warn',
    headline: `${capital(trendSentence(kind, rate, t.secondsToLimit, t.limit))}.`,
    details,
  }
}

const BUDGET: Readonly<Record<Budget['verdict'], { level: Level; label: string }>> = {
  ok: { level: 'ok', label: "V8's heap limit fits the container limit" },
  'heap-limit-exceeds-container': { level: 'bad', label: "V8's heap limit exceeds the container limit" },
  'heap-limit-far-below-container': { level: 'warn', label: "V8's heap limit is far below the container limit" },
  'no-container-limit': { level: 'warn', label: 'No container memory limit' },
  unknown: { level: 'info', label: 'No memory cgroup to compare with' },
}

/** The budget verdict: a label, the check's own message, and the exact flag to set (null without a limit). */
export function budgetWords(b: Budget): Verdict & { readonly verdict: Budget['verdict']; readonly flag: string | null } {
  const v = BUDGET[b.verdict]
  return {
    level: v.level,
    headline: v.label,
    details: [b.message],
    verdict: b.verdict,
    flag: b.recommendedFlag === null ? null : `NODE_OPTIONS=${b.recommendedFlag}`,
  }
}

/** The previous crash, as the last-words capability decided it; none is a fact too. */
export function crashWords(c: PreviousCrash | null): Verdict {
  if (c === null)
    return { level: 'ok', headline: 'No previous crash recorded (the last instance stopped cleanly, this is the first, or last words are off).', details: [] }
  return { level: 'bad', headline: capital(crashMessage(c).replace(/^oomkit: /, '')), details: c.evidence }
}

/** Whether a heap snapshot may be taken now, and why not. */
export function snapshotWords(s: SnapshotStatus | null): Verdict {
  if (s === null) return { level: 'off', headline: 'Heap snapshots are off (snapshot: false).', details: [] }
  const room = s.neededBytes === null ? [] : [`It needs about ${bytes(s.neededBytes)}; the headroom is ${bytes(s.headroomBytes)}.`]
  if (s.possible) return { level: 'ok', headline: 'A heap snapshot is possible now.', details: room }
  if (s.inProgress) return { level: 'warn', headline: 'A heap snapshot is being taken now.', details: room }
  if (s.cooldownRemainingMs > 0 && s.reason === 'OOMKIT_SNAPSHOT_COOLDOWN')
    return { level: 'warn', headline: `Cooling down: the next snapshot is possible in ${duration(s.cooldownRemainingMs / 1000)}.`, details: room }
  if (s.reason === 'OOMKIT_INSUFFICIENT_HEADROOM') {
    return {
      level: 'bad',
      headline: 'Refused now: taking a snapshot could get the process OOM-killed.',
      details: [...room, 'The heap profile above costs a fraction of it; ?force=1 takes the snapshot anyway.'],
    }
  }
  const known = s.reason !== null && Object.hasOwn(ERROR_CODES, s.reason) ? ERROR_CODES[s.reason as keyof typeof ERROR_CODES].description : null
  return { level: 'bad', headline: `Refused now (${s.reason ?? 'unknown reason'}).`, details: [...(known === null ? [] : [known]), ...room] }
}
