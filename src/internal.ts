import type { Route } from './http/routes.js'
import type { Sampler } from './memory/sampler.js'
import type { AnyCollector } from './metrics/collector.js'

/**
 * Seams of an instance that are not public API: tests use them, users cannot reach them (the
 * package's `exports` do not include this file). Swapping a route would let a caller replace the
 * guarded `/debug/heap` with an unguarded one, so even here a path can be added only once.
 */
export interface KitInternals {
  /** Every route of the instance, in the order handlers match them. */
  readonly routes: readonly Route[]
  /** Adds a route at a new path; a path already taken throws. */
  addRoute(route: Route): void
  /** The sampler (created on first use). */
  readonly sampler: Sampler
  /** Replaces the sampler's clock (epoch ms): a test can take minutes of samples in milliseconds, each `tick()` at a time it chooses. */
  setClock(now: () => number): void
  /** Runs one sampling tick now, as the timer does: sample, thresholds, every capability's onSample. */
  tick(): void
  /** Every collector the instance registers at start (the core's and each capability's), for their metric names. */
  collectors(): AnyCollector[]
}

const seams = new WeakMap<object, KitInternals>()

/** Called once by each instance's constructor with its route table, its memory core and its tick. */
export function registerInternals(
  kit: object,
  { routes, memory, tick, collectors }: { routes: Route[]; memory: { readonly sampler: Sampler }; tick: () => void; collectors: () => AnyCollector[] },
): void {
  seams.set(kit, {
    collectors,
    routes,
    addRoute(route) {
      if (routes.some((r) => r.path === route.path)) throw new Error(`a route at ${route.path} exists already`)
      routes.push(route)
    },
    get sampler() {
      return memory.sampler
    },
    setClock(now) {
      memory.sampler.now = now
    },
    tick,
  })
}

/** The internals of an instance (tests only). */
export function internals(kit: object): KitInternals {
  const found = seams.get(kit)
  if (found === undefined) throw new Error('not an oomkit instance')
  return found
}
