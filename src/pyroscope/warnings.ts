import type { OomkitLogger } from '../logging/logger.js'

/** One warning line per key per window. */
export const WARNING_WINDOW_MS = 60_000

/** Keys tracked at most: one per profile kind and outcome is a handful; a cap keeps it bounded anyway. */
const MAX_KEYS = 64

interface KeyState {
  loggedAt: number
  suppressed: number
}

/**
 * Rate-limited warnings: the first occurrence of a key (profile kind and outcome) is logged at
 * once, later ones within {@link WARNING_WINDOW_MS} are counted, and the next line after the
 * window says how many were not logged (`suppressed`). A server that is down for an hour writes
 * 60 lines per outcome, not one per upload.
 *
 * @example
 * const warnings = new RateLimitedWarnings(logger)
 * warnings.warn('wall:error', { profile: 'wall', outcome: 'error' }, 'Pyroscope upload failed')
 */
export class RateLimitedWarnings {
  readonly #keys = new Map<string, KeyState>()

  constructor(
    private readonly logger: OomkitLogger,
    private readonly now: () => number = Date.now,
    private readonly windowMs: number = WARNING_WINDOW_MS,
  ) {}

  /** Logs `msg` at warn with `fields` and `suppressed`, unless the key was logged within the window. Returns whether it logged. */
  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const now = this.now()
    const state = this.#keys.get(key)
    if (state !== undefined && now - state.loggedAt < this.windowMs) {
      state.suppressed++
      return false
    }
    if (state === undefined && this.#keys.size >= MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value as string)
    this.logger.warn({ ...fields, suppressed: state?.suppressed ?? 0 }, msg)
    this.#keys.set(key, { loggedAt: now, suppressed: 0 })
    return true
  }

  /** How many warnings of a key were counted but not logged since its last line. */
  suppressed(key: string): number {
    return this.#keys.get(key)?.suppressed ?? 0
  }

  /** At stop: one line per key that still has warnings nobody saw. */
  flush(msg: string): void {
    for (const [key, state] of this.#keys) {
      if (state.suppressed > 0) this.logger.warn({ key, suppressed: state.suppressed }, msg)
    }
    this.#keys.clear()
  }
}
