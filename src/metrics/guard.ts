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

  #start(): Promise<T> {
    if (this.#pending !== null) return this.#pending
    let pending: Promise<T>
    try {
      pending = Promise.resolve(this.source())
    } catch (err) {
      pending = Promise.reject(err)
    }
    this.#pending = pending
    const settle = (): void => {
      if (this.#pending === pending) this.#pending = null
    }
    pending.then(settle, settle)
    return pending
  }

  #race(): Promise<T | null> {
    const pending = this.#start()
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
