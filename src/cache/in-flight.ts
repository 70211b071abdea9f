/**
 * Loads in flight, one per key (getOrLoad, memoize). Whatever happens to the key while one loads
 * (a set, a delete, a clear) takes its place: the load's result goes to its callers but is not
 * stored. A loader that never settles keeps its key here until a set, delete or clear of it.
 */
/** Whether a value is a promise or any other thenable. */
export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function'

/** The loads in flight per key, so concurrent `getOrLoad`s of one key share one promise. */
export class InFlight<K, V> {
  #loads: Map<K, Promise<V>> | null = null

  /** The load in flight for a key, if any. */
  get(key: K): Promise<V> | undefined {
    return this.#loads?.get(key)
  }

  /** A set or delete of the key: a load in flight for it will not store its result. */
  forget(key: K): void {
    // The common case (nothing loading) costs a null check and a size read.
    if (this.#loads !== null && this.#loads.size !== 0) this.#loads.delete(key)
  }

  /** Forgets every load in flight (their results are not stored). */
  clear(): void {
    this.#loads?.clear()
  }

  /** Shares `loading` with later callers until it settles; `store` gets its value if nothing took its place. */
  track(key: K, loading: Promise<V>, store: (value: V) => void): Promise<V> {
    const loads = (this.#loads ??= new Map())
    const settled = loading.then(
      (value) => {
        if (loads.get(key) !== settled) return value
        loads.delete(key)
        store(value)
        return value
      },
      (err: unknown) => {
        if (loads.get(key) === settled) loads.delete(key)
        throw err
      },
    )
    loads.set(key, settled)
    return settled
  }
}
