/**
 * A fixed-size ring: pushing past capacity overwrites the oldest entry, so memory use is bounded
 * whatever the uptime.
 */
export class Ring<T> {
  readonly #items: (T | undefined)[]
  #next = 0
  #size = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Ring capacity must be a positive integer, got ${capacity}`)
    this.#items = new Array<T | undefined>(capacity)
  }

  /** Number of entries held (at most `capacity`). */
  get size(): number {
    return this.#size
  }

  /** Appends an item, dropping the oldest once full. */
  push(item: T): void {
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.capacity
    if (this.#size < this.capacity) this.#size++
  }

  /** The newest entry, or undefined when empty. */
  last(): T | undefined {
    if (this.#size === 0) return undefined
    return this.#items[(this.#next - 1 + this.capacity) % this.capacity]
  }

  /** Entries oldest first. */
  toArray(): T[] {
    const out: T[] = []
    const start = (this.#next - this.#size + this.capacity) % this.capacity
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(start + i) % this.capacity] as T)
    return out
  }

  /** Empties the ring. */
  clear(): void {
    this.#items.fill(undefined)
    this.#next = 0
    this.#size = 0
  }
}
