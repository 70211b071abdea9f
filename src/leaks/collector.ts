import { type AnyCollector, type FamilyValue, type HistogramValue, defineCollector } from '../metrics/collector.js'
import { LabelMemo } from '../metrics/label-memo.js'
import type { PoolRegistry, PoolSummary } from './pool-registry.js'
import { HOLD_BUCKETS, type ResourceRow, WAIT_BUCKETS } from './stats.js'
import type { LeakTracker } from './tracker.js'

interface LeaksSource {
  /** The same frozen `{ kind, pool }` every scrape (see LabelMemo). */
  readonly labels: LabelMemo<Readonly<Record<string, string>>>
  readonly rows: readonly ResourceRow[]
  readonly pools: readonly PoolSummary[]
  readonly waits: ReturnType<PoolRegistry['waits']>
}

function perRow(s: LeaksSource, value: (r: ResourceRow) => number): FamilyValue[] {
  return s.rows.map((r) => ({ value: value(r), labels: s.labels.get(r.kind, r.pool) }))
}

function perPool(s: LeaksSource, value: (p: PoolSummary) => number | null): FamilyValue[] {
  const out: FamilyValue[] = []
  for (const p of s.pools) {
    const v = value(p)
    if (v !== null) out.push({ value: v, labels: s.labels.get(p.kind, p.name) })
  }
  return out
}

/**
 * The tracker's series, read at scrape time from its plain counters: `oomkit_resources_*`,
 * `oomkit_resource_*` per (kind, pool), and each tracked pool's own gauges, timeouts and waits.
 */
export function leaksCollector(tracker: LeakTracker, pools: PoolRegistry): AnyCollector {
  const labels = new LabelMemo<Readonly<Record<string, string>>>((kind, pool) => Object.freeze({ kind, pool }))
  return defineCollector<LeaksSource>({
    name: 'leaks',
    read: () => {
      labels.flip()
      return { labels, rows: tracker.rows.all(), pools: pools.summaries(), waits: pools.waits() }
    },
    families: [
      {
        name: 'resources_open',
        help: 'Tracked resources (connections, sockets, requests) acquired and not released.',
        type: 'gauge',
        values: (s) => perRow(s, (r) => r.open),
      },
      { name: 'resources_acquired_total', help: 'Tracked resources acquired.', type: 'counter', values: (s) => perRow(s, (r) => r.acquired) },
      { name: 'resources_released_total', help: 'Tracked resources released.', type: 'counter', values: (s) => perRow(s, (r) => r.released) },
      {
        name: 'resource_leaks_total',
        help: 'Leases reported as leaks: held past their threshold, or garbage-collected without a release (each lease once).',
        type: 'counter',
        values: (s) => perRow(s, (r) => r.leaks),
      },
      {
        name: 'resource_hold_seconds',
        help: 'How long released resources were held.',
        type: 'histogram',
        buckets: HOLD_BUCKETS,
        values: (s): HistogramValue[] =>
          s.rows.map((r) => ({ labels: s.labels.get(r.kind, r.pool), counts: r.hold.counts, sum: r.hold.sum, count: r.hold.count })),
      },
      { name: 'pool_size', help: 'Connections a tracked pool holds, idle or checked out.', type: 'gauge', values: (s) => perPool(s, (p) => p.size) },
      { name: 'pool_idle', help: 'Idle connections in a tracked pool.', type: 'gauge', values: (s) => perPool(s, (p) => p.idle) },
      { name: 'pool_waiting', help: 'Callers waiting for a connection from a tracked pool.', type: 'gauge', values: (s) => perPool(s, (p) => p.waiting) },
      { name: 'pool_max', help: "A tracked pool's configured maximum size.", type: 'gauge', values: (s) => perPool(s, (p) => p.max) },
      {
        name: 'pool_acquire_timeouts_total',
        help: 'Acquires from a tracked pool that timed out waiting for a connection.',
        type: 'counter',
        values: (s) => perPool(s, (p) => p.acquireTimeouts),
      },
      {
        name: 'pool_acquire_wait_seconds',
        help: 'How long acquires from a tracked pool waited (successful or not).',
        type: 'histogram',
        buckets: WAIT_BUCKETS,
        values: (s): HistogramValue[] => s.waits.map((w) => ({ labels: s.labels.get(w.kind, w.name), counts: w.counts, sum: w.sum, count: w.count })),
      },
    ],
  })
}
