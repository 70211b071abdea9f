import { type Collector, defineCollector } from '../metrics/collector.js'
import type { FamilyValue } from '../metrics/family.js'
import type { ProfileKind } from './protocol.js'
import { UPLOAD_OUTCOMES, type OutcomeCounts } from './uploader.js'

/** What the collector reads at scrape time: the counts of the kinds being sent, or null while Pyroscope is off. */
export type UploadCountsSource = () => {
  readonly kinds: readonly ProfileKind[]
  readonly counts: Readonly<Record<ProfileKind, Readonly<OutcomeCounts>>>
} | null

/**
 * `oomkit_profile_uploads_total{profile, outcome}`: every profile handed to Pyroscope, by kind
 * (`heap`, `wall`) and outcome (`ok`, `rejected`, `error`, `timeout`, `dropped`), read from plain
 * counters at scrape time. Every outcome of a kind being sent has a series from the start (0 until
 * it happens); while Pyroscope is off or not running the family has no series.
 */
export function uploadsCollector(read: UploadCountsSource): Collector<ReturnType<UploadCountsSource>> {
  return defineCollector({
    name: 'pyroscope',
    read,
    families: [
      {
        name: 'profile_uploads_total',
        help: 'Profiles handed to Pyroscope, by profile (heap, wall) and outcome (ok, rejected, error, timeout, dropped).',
        type: 'counter',
        values(source) {
          if (source === null) return []
          const out: FamilyValue[] = []
          for (const profile of source.kinds) {
            for (const outcome of UPLOAD_OUTCOMES) out.push({ value: source.counts[profile][outcome], labels: { profile, outcome } })
          }
          return out
        },
      },
    ],
  })
}
