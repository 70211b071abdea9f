import type { AnyCapabilityDefinition, Capability, CapabilityContext, MajorGc, ReportSections } from './capability.js'
import type { Route } from './http/routes.js'
import type { OomkitLogger } from './logging/logger.js'
import type { Reading } from './memory/sampler.js'
import type { AnyCollector } from './metrics/collector.js'

interface Member {
  readonly name: string
  readonly section: keyof ReportSections
  readonly capability: Capability<unknown>
}

/**
 * The capabilities of one instance, created from their definitions: the loops the kit runs over
 * them. Nothing a capability does in a hook, at start or at stop reaches the app: it is logged
 * with the capability's name.
 */
export class CapabilitySet {
  readonly #members: readonly Member[]
  readonly #logger: OomkitLogger

  constructor(definitions: readonly AnyCapabilityDefinition[], logger: OomkitLogger, context: (def: AnyCapabilityDefinition) => CapabilityContext<unknown>) {
    this.#logger = logger
    this.#members = definitions.map((def) => ({ name: def.name, section: def.section, capability: def.create(context(def)) as Capability<unknown> }))
  }

  /** Every route, in list order. */
  routes(): Route[] {
    return this.#members.flatMap((m) => m.capability.routes ?? [])
  }

  /** The members capabilities add to the kit, by name; two that claim one name are a programming error. */
  api(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const { name, capability } of this.#members) {
      for (const [key, value] of Object.entries(capability.api ?? {})) {
        if (key in out) throw new Error(`capability ${name} adds kit.${key}, which another capability added already`)
        out[key] = value
      }
    }
    return out
  }

  /** Every collector, in list order. */
  collectors(): AnyCollector[] {
    return this.#members.flatMap((m) => m.capability.collectors ?? [])
  }

  /** Starts each in list order; one that throws is logged and stays off. */
  start(): void {
    for (const { name, capability } of this.#members) {
      try {
        capability.start?.()
      } catch (err) {
        this.#logger.error({ err, capability: name }, `oomkit capability ${name} failed to start; it stays off and the app runs on`)
      }
    }
  }

  /** Stops each in reverse order, waiting for each. */
  async stop(): Promise<void> {
    for (const { name, capability } of [...this.#members].reverse()) {
      try {
        await capability.stop?.()
      } catch (err) {
        this.#logger.error({ err, capability: name }, `oomkit capability ${name} failed to stop cleanly`)
      }
    }
  }

  /** Tells each about a sample. */
  onSample(reading: Reading): void {
    for (const m of this.#members) this.#call(m, 'onSample', () => m.capability.onSample?.(reading))
  }

  /** Tells each about a major GC. */
  onMajorGc(gc: MajorGc): void {
    for (const m of this.#members) this.#call(m, 'onMajorGc', () => m.capability.onMajorGc?.(gc))
  }

  /** The fields each adds to the periodic memory line; one that throws adds nothing. */
  logFields(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const m of this.#members) if (m.capability.logFields !== undefined) this.#call(m, 'logFields', () => Object.assign(out, m.capability.logFields?.()))
    return out
  }

  /** Every capability's section, under its name. */
  sections(): ReportSections {
    const out: Record<string, unknown> = {}
    for (const { section, capability } of this.#members) out[section] = capability.section()
    return out as unknown as ReportSections
  }

  #call(m: Member, hook: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#logger.error({ err, capability: m.name, hook }, `oomkit capability ${m.name} failed in ${hook}`)
    }
  }
}
