import type { ContainerMemory } from './container/index.js'
import type { EventBus, OomkitEvents } from './events.js'
import type { Route } from './http/routes.js'
import type { OomkitLogger } from './logging/logger.js'
import type { GcState } from './memory/gc-observer.js'
import type { CoreReport } from './memory/report.js'
import type { Reading, Sample } from './memory/sampler.js'
import type { AnyCollector } from './metrics/collector.js'
import type { ResolvedCoreOptions } from './options/core.js'

/**
 * The capability contract. oomkit's core (sources → sampler → report → metrics | logs | http) is
 * wired by the kit; everything else is a capability: a folder that exports one
 * {@link CapabilityDefinition}, listed once in `capabilities.ts`. The kit collects each one's
 * routes and collectors, starts it (a failure is logged, never thrown into the app), fans samples
 * and major GCs out to it, puts its section into the report, and stops it in reverse order.
 *
 * A capability declares its option and its report section by augmenting the interfaces below
 * from its own folder, so that adding one touches its folder, the list, and the README.
 *
 * @example
 * declare module '../../capability.js' {
 *   interface CapabilityApi { queue(name: string): Queue }
 *   interface CapabilityOptions { queue?: QueueOptions | false }
 *   interface ResolvedCapabilityOptions { queue: ResolvedQueueOptions | false }
 *   interface ReportSections { queue: QueueSection | null }
 * }
 * export const queueCapability = defineCapability({ name: 'queue', option: 'queue', section: 'queue', ... })
 */

/**
 * The report's capability sections, one per capability. **The rule for a capability that is off**
 * (its option is `false`): its section is `null`. A capability that is on but not running (not
 * started yet, stopped, or failed to start) still gives its section, saying so.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ReportSections {}

/**
 * Members capabilities add to the kit instance (`kit.cache(...)`, `kit.leaks`), augmented by each
 * capability; the kit installs what `Capability.api` returns under the same names.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CapabilityApi {}

/** Each capability's option as `createOomkit` takes it (augmented by each capability). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CapabilityOptions {}

/** Each capability's option after validation and defaults (augmented by each capability). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ResolvedCapabilityOptions {}

/**
 * Services one capability offers the others, augmented by the provider (the heap profile capability
 * provides `heapProfile`). A consumer reads them when it needs them, never at creation, and copes
 * with one that is absent: its provider may be off.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SharedServices {}

/** What a capability may read of the core's memory readings. */
export interface MemoryView {
  /** The newest sample (taking one when there is none yet). */
  latest(): Reading
  /** A fresh reading, not recorded in the history. */
  read(): Reading
  /** The container's memory now, or null without a memory cgroup. */
  readContainer(): ContainerMemory | null
  /** What the GC observer has seen: the live set after the last major GC and counts. */
  readonly gc: Readonly<GcState>
  /** The history ring, oldest first. */
  history(): readonly Sample[]
}

/** A major (mark-compact) GC as the observer saw it. */
export interface MajorGc {
  /** Heap used right after it: the live set. */
  readonly liveBytes: number
  /** When it ended, epoch ms. */
  readonly at: number
}

/** The sampling clock, as a capability may steer it. */
export interface SamplingControl {
  /** Asks for (or gives up) the fast interval on behalf of `reason`, e.g. a limit minutes away. */
  setFast(reason: string, on: boolean): void
  /** Whether the kit samples fast now, and the interval in force. */
  readonly fast: boolean
  readonly intervalMs: number
}

/** What the kit hands a capability when it creates it. */
export interface CapabilityContext<O> {
  /** This capability's resolved option (`false` when the user turned it off). */
  readonly options: O
  /** The core options (`diagnosticsDir`, `procRoot`, ratios, intervals). */
  readonly core: ResolvedCoreOptions
  readonly logger: OomkitLogger
  readonly memory: MemoryView
  /** The instance's events: emit yours, subscribe to the core's. */
  readonly events: EventBus<OomkitEvents>
  /** The sampling clock: a capability that sees danger coming can ask for fast sampling. */
  readonly sampling: SamplingControl
  /** Services of the other capabilities: a provider assigns its own in `create()`. */
  readonly shared: Partial<SharedServices>
  /** The whole memory report, as `kit.report()` returns it (for last words, say). */
  report(): CoreReport & ReportSections
}

/** One running capability, as `create()` returns it. Every member is optional. */
export interface Capability<S> {
  /** HTTP routes it serves; fixed at creation (the kit owns the route table). */
  readonly routes?: readonly Route[]
  /** Members it adds to the kit instance; declare their types by augmenting {@link CapabilityApi}. */
  readonly api?: Partial<CapabilityApi>
  /** Metric collectors, registered through the kit's guard at start. */
  readonly collectors?: readonly AnyCollector[]
  /** Starts timers, observers, native profilers. May throw: the kit logs it and runs on. */
  start?(): void
  /** Stops what `start()` started and releases what it holds. Never throws. */
  stop?(): void | Promise<void>
  /** Called after every sample the kit's timer takes. */
  onSample?(reading: Reading): void
  /** Called after every major GC. */
  onMajorGc?(gc: MajorGc): void
  /** Fields it adds to the periodic `"memory"` log line (flat numbers and short strings). */
  logFields?(): Record<string, unknown>
  /** Its report section, read on every `report()`. */
  section(): S
}

/** A capability's definition: its option (name, defaults, resolver) and its factory. */
export interface CapabilityDefinition<K extends keyof ResolvedCapabilityOptions, S extends keyof ReportSections> {
  /** For logs: `capability: name`. */
  readonly name: string
  /** Its key in `createOomkit` options. */
  readonly option: K
  /** Its resolved default (what `DEFAULTS[option]` shows): `false` for a capability that is off unless asked for. */
  readonly defaults: ResolvedCapabilityOptions[K]
  /** Validates the user's value and applies defaults; throws `OOMKIT_INVALID_OPTION`. */
  resolve(value: unknown): ResolvedCapabilityOptions[K]
  /** Its key in the report. */
  readonly section: S
  /** Creates it (no side effects: nothing runs until `start()`). */
  create(ctx: CapabilityContext<ResolvedCapabilityOptions[K]>): Capability<ReportSections[S]>
}

/** Any capability's definition, for the kit's list. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCapabilityDefinition = CapabilityDefinition<any, any>

/** Declares a capability (an identity function that checks it against the contract). */
export function defineCapability<K extends keyof ResolvedCapabilityOptions, S extends keyof ReportSections>(
  definition: CapabilityDefinition<K, S>,
): CapabilityDefinition<K, S> {
  return definition
}
