import type { Counter } from 'prom-client'

/**
 * Runs one collector's source for a scrape, so that a source that throws or hangs never fails the
 * scrape: past `timeoutMs`, or on an error, the scrape gets null (its series are left out) and
 * `oomkit_collector_errors_total{collector}` counts it once. Every metric family of a collector
 * calls `collect()` in the same scrape and shares one reading; a source still hung from an earlier
 * scrape is not called again until it settles, so a stuck read can't pile up.
 */
export class CollectorGuard<T> {
  #pending: Promise<T> | null = null
  #current: Promise<T | null> | null = null

  constructor(
    readonly name: string,
    private readonly source: () => T | Promise<T>,
    private readonly timeoutMs: number,
    private readonly errors: Counter<'collector'>,
  ) {}

  /** The source's value for this scrape, or null when it failed or timed out. */
  collect(): Promise<T | null> {
    if (this.#current !== null) return this.#current
    const current = this.#race()
    this.#current = current
    void current.then(() => {
      if (this.#current === current) this.#current = null
    })
    return current
  }

  /** The source's value for this scrape: a settled one when it answered synchronously. */
  #race(): Promise<T | null> {
    if (this.#pending !== null) return this.#timed(this.#pending)
    let value: T | Promise<T>
    try {
      value = this.source()
    } catch {
      this.errors.inc({ collector: this.name })
      return Promise.resolve(null)
    }
    // Most sources are synchronous: there is nothing to time out, so no timer (a setTimeout and
    // a clearTimeout per collector per scrape) and no race.
    if (!isThenable(value)) return Promise.resolve(value)
    const pending = Promise.resolve(value)
    this.#pending = pending
    const settle = (): void => {
      if (this.#pending === pending) this.#pending = null
    }
    pending.then(settle, settle)
    return this.#timed(pending)
  }

  #timed(pending: Promise<T>): Promise<T | null> {
    return new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => {
        this.errors.inc({ collector: this.name })
        resolve(null)
      }, this.timeoutMs)
      timer.unref()
      pending.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        () => {
          clearTimeout(timer)
          this.errors.inc({ collector: this.name })
          resolve(null)
        },
      )
    })
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
