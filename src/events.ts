import type { OomkitLogger } from './logging/logger.js'
import type { MemoryFields } from './memory/threshold.js'

/**
 * Events an instance emits (`kit.on(name, listener)`). Capabilities add theirs by augmenting this
 * interface from their own folder.
 */
export interface OomkitEvents {
  /** The working set crossed `warnRatio` of the limit (once per episode). */
  warn: [fields: MemoryFields]
  /** The working set crossed `criticalRatio` of the limit (once per episode). */
  critical: [fields: MemoryFields]
}

type Listener = (...args: unknown[]) => void

/**
 * A typed event bus whose listeners can never break the emitter: one that throws is logged and
 * the others still run. `clear()` (at stop) drops every listener.
 */
export class EventBus<E extends { [K in keyof E]: unknown[] }> {
  readonly #listeners = new Map<keyof E, Listener[]>()

  constructor(private readonly logger: OomkitLogger) {}

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    const list = this.#listeners.get(event) ?? []
    list.push(listener as unknown as Listener)
    this.#listeners.set(event, list)
  }

  /** Removes a listener (the first registration of it). */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    const list = this.#listeners.get(event)
    const i = list?.indexOf(listener as unknown as Listener) ?? -1
    if (list !== undefined && i >= 0) list.splice(i, 1)
  }

  /** Calls every listener in order; one that throws is logged and the rest still run. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        ;(listener as unknown as (...a: E[K]) => void)(...args)
      } catch (err) {
        this.logger.error({ err, event }, 'an oomkit event listener threw')
      }
    }
  }

  /** Drops every listener (at stop). */
  clear(): void {
    this.#listeners.clear()
  }
}
