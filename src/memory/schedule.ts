/**
 * The sampling clock: the normal interval, and a fast one while anything asks for it (the working
 * set above `warnRatio`, a forecast that puts the limit minutes away), so a fast leak is still
 * seen between two normal samples. The timer is unref'd and re-armed only when the mode changes.
 */
export class SamplingSchedule {
  #timer: NodeJS.Timeout | null = null
  readonly #reasons = new Set<string>()
  #running = false

  constructor(
    readonly normalMs: number,
    readonly fastMs: number,
    private readonly tick: () => void,
    /** Told when the mode changes (the kit logs it). */
    private readonly onChange: (fast: boolean, intervalMs: number, reasons: readonly string[]) => void = () => {},
  ) {}

  /** Whether it samples at the fast interval now. */
  get fast(): boolean {
    return this.#reasons.size > 0 && this.fastMs < this.normalMs
  }

  /** The interval in force, ms. */
  get intervalMs(): number {
    return this.fast ? this.fastMs : this.normalMs
  }

  /** Why it samples fast (empty when it does not). */
  get reasons(): readonly string[] {
    return [...this.#reasons]
  }

  /** Starts the timer at the interval in force. */
  start(): void {
    this.#running = true
    this.#arm()
  }

  /** Stops the timer and forgets every fast request. */
  stop(): void {
    this.#running = false
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#reasons.clear()
  }

  /** Asks for (or gives up) fast sampling on behalf of `reason`; returns whether the mode changed. */
  setFast(reason: string, on: boolean): boolean {
    const before = this.fast
    if (on) this.#reasons.add(reason)
    else this.#reasons.delete(reason)
    const changed = before !== this.fast
    if (changed && this.#running) {
      this.#arm()
      this.onChange(this.fast, this.intervalMs, this.reasons)
    }
    return changed
  }

  #arm(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = setInterval(this.tick, this.intervalMs)
    this.#timer.unref()
  }
}
