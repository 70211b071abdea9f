/**
 * Label objects kept from one scrape to the next, so that a series whose label values did not
 * change is given the same frozen object every scrape. prom-client formats (escapes, joins) a
 * frozen label object once and caches the text by identity (see `seriesOf` in family.ts): a
 * collector that builds its labels through a memo pays no label formatting for steady series.
 *
 * Bounded: each `flip()` (once per scrape, in the collector's `read()`) drops what the scrape
 * before did not ask for, so it never holds more than two scrapes' label sets.
 */
export class LabelMemo<L> {
  #last = new Map<string, Map<string, L>>()
  #next = new Map<string, Map<string, L>>()

  /** @param build the labels of a value pair never seen (or not seen last scrape); frozen objects. */
  constructor(private readonly build: (a: string, b: string) => L) {}

  /** The labels for (`a`, `b`): last scrape's object when there was one. Two string keys, no concatenation. */
  get(a: string, b = ''): L {
    let next = this.#next.get(a)
    const hit = next?.get(b)
    if (hit !== undefined) return hit
    const labels = this.#last.get(a)?.get(b) ?? this.build(a, b)
    if (next === undefined) {
      next = new Map()
      this.#next.set(a, next)
    }
    next.set(b, labels)
    return labels
  }

  /** Starts a scrape: the one before becomes the last, and what it did not use is dropped. */
  flip(): void {
    this.#last = this.#next
    this.#next = new Map()
  }
}
