import type { CollectorGuard } from './guard.js'

/** A label set and its value, as prom-client's registry formats it. */
export interface FamilyValue {
  readonly value: number
  readonly labels: Record<string, string>
}

/**
 * A metric family read at scrape time from a guarded collector. It is a prom-client metric as far
 * as the registry is concerned (name, help, type, get, reset), so it lives in the app's own
 * registry, but unlike a prom-client Gauge it can leave its series out entirely: an unknown value
 * (no limit, unreadable file, failed collector) is absent, never a misleading 0.
 */
export class MetricFamily<T> {
  readonly aggregator = 'sum'

  constructor(
    public name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly guard: CollectorGuard<T>,
    private readonly values: (source: T) => FamilyValue[],
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: FamilyValue[]; aggregator: string }> {
    const source = await this.guard.collect()
    let values: FamilyValue[] = []
    if (source !== null) {
      try {
        values = this.values(source).filter((v) => Number.isFinite(v.value))
      } catch {
        values = []
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** Nothing to reset: values are read at scrape time. */
  reset(): void {}
}

/** One unlabelled value, or no series when it is null. */
export function single(value: number | null | undefined): FamilyValue[] {
  return value === null || value === undefined ? [] : [{ value, labels: {} }]
}
