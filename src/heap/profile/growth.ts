import { type Point, theilSen } from '../../memory/theil-sen.js'
import type { TopSite } from './top-sites.js'

/** One row of `GET /debug/memory/top?growth=1`: an allocation site whose live sampled bytes grow. */
export interface GrowthSite {
  readonly function: string
  readonly file: string
  readonly line: number
  /** Live sampled bytes there in the newest profile. */
  readonly bytes: number
  /** Growth of those bytes over the window (Theil–Sen over the profiles kept), bytes per second. */
  readonly growthBytesPerSecond: number
}

/** How many profiles the window keeps, and how many sites of each. */
export const GROWTH_WINDOW = Object.freeze({ profiles: 12, sitesPerProfile: 300 })

interface Snapshot {
  readonly at: number
  readonly bytes: ReadonlyMap<string, number>
}

const keyOf = (s: { function: string; file: string; line: number }): string => `${s.function}\0${s.file}\0${s.line}`

/**
 * Remembers the top sites of the last few profiles (bounded: {@link GROWTH_WINDOW}) and says which
 * sites grow: those whose live bytes rise across the profiles, by the robust slope. A site absent
 * from a profile counted 0 bytes there. No timer inside: the owner decides when to record.
 */
export class GrowthTracker {
  readonly #snapshots: Snapshot[] = []
  readonly #names = new Map<string, { function: string; file: string; line: number }>()

  /** Records one profile's top sites, taken at `at` (epoch ms). */
  record(at: number, sites: readonly TopSite[]): void {
    const bytes = new Map<string, number>()
    for (const site of sites.slice(0, GROWTH_WINDOW.sitesPerProfile)) {
      const key = keyOf(site)
      bytes.set(key, (bytes.get(key) ?? 0) + site.bytes)
      if (!this.#names.has(key)) this.#names.set(key, { function: site.function, file: site.file, line: site.line })
    }
    this.#snapshots.push({ at, bytes })
    if (this.#snapshots.length > GROWTH_WINDOW.profiles) this.#snapshots.shift()
    // Forget names no kept profile mentions, so the map stays as bounded as the window.
    if (this.#names.size > GROWTH_WINDOW.profiles * GROWTH_WINDOW.sitesPerProfile) {
      for (const key of this.#names.keys()) if (!this.#snapshots.some((s) => s.bytes.has(key))) this.#names.delete(key)
    }
  }

  /** When the newest profile was recorded, or null. */
  get lastRecordedAt(): number | null {
    return this.#snapshots.at(-1)?.at ?? null
  }

  /** Seconds between the oldest and the newest profile kept. */
  get windowSeconds(): number {
    const first = this.#snapshots[0]
    const last = this.#snapshots.at(-1)
    return first === undefined || last === undefined ? 0 : (last.at - first.at) / 1000
  }

  /** Profiles kept. */
  get profiles(): number {
    return this.#snapshots.length
  }

  /** The sites that grow, fastest first; empty with fewer than two profiles. */
  growing(limit: number): GrowthSite[] {
    if (this.#snapshots.length < 2) return []
    const latest = this.#snapshots.at(-1) as Snapshot
    const keys = new Set<string>()
    for (const s of this.#snapshots) for (const key of s.bytes.keys()) keys.add(key)
    const out: GrowthSite[] = []
    for (const key of keys) {
      const points: Point[] = this.#snapshots.map((s) => ({ t: s.at, v: s.bytes.get(key) ?? 0 }))
      const fit = theilSen(points)
      // Sampling noise moves a flat site up and down; growth must hold across most pairs of profiles.
      if (fit === null || fit.slopePerSecond <= 0 || fit.positiveShare <= 0.5) continue
      const name = this.#names.get(key)
      if (name === undefined) continue
      out.push({ ...name, bytes: latest.bytes.get(key) ?? 0, growthBytesPerSecond: Math.round(fit.slopePerSecond) })
    }
    return out.sort((a, b) => b.growthBytesPerSecond - a.growthBytesPerSecond).slice(0, limit)
  }
}
