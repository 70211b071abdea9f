// Shared by the Pyroscope suites: the two @datadog/pprof copies as npm lays them out, the frame
// reader for uploaded profiles, and a kit with a captured logger.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { readFileSync } from 'node:fs'
import type { Profile } from 'pprof-format'
import { Registry } from 'prom-client'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../src/index.js'
import { profileString } from '../../src/heap/profile/index.js'
import { captureLogger, type Captured } from '../helpers/http.js'

const here = createRequire(import.meta.url)

/** Where `@pyroscope/nodejs` resolves from oomkit (its CommonJS entry). */
export const PYROSCOPE_ENTRY = here.resolve('@pyroscope/nodejs')

interface PprofCopy {
  readonly path: string
  readonly version: string
  readonly heap: { start(i: number, d: number): void; stop(): void; v8Profile(): unknown }
  readonly time: { isStarted(): boolean }
}

function pprofCopy(from: NodeRequire): PprofCopy {
  const path = from.resolve('@datadog/pprof')
  const pkg = join(dirname(path), '..', '..', 'package.json')
  return { path, version: (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version, ...(from(path) as Pick<PprofCopy, 'heap' | 'time'>) }
}

/** oomkit's own `@datadog/pprof` (its optional dependency, at the top of node_modules). */
export const OOMKIT_PPROF = pprofCopy(here)
/** The `@datadog/pprof` `@pyroscope/nodejs` pins, where npm put it for it. */
export const PYROSCOPE_PPROF = pprofCopy(createRequire(PYROSCOPE_ENTRY))

/** Whether a `@datadog/pprof` copy has its heap profiler on (its own flag; reading when on costs no GC). */
export function heapEnabled(copy: PprofCopy): boolean {
  try {
    copy.heap.v8Profile()
    return true
  } catch {
    return false
  }
}

/** The frames of a profile: `{ function, file, line }` per pprof Function, with the bytes or samples of stacks holding it. */
export function frames(profile: Profile): { function: string; file: string; value: number }[] {
  const fns = new Map(profile.function.map((f) => [Number(f.id), f]))
  const locs = new Map(profile.location.map((l) => [Number(l.id), l]))
  const last = profile.sampleType.length - 1
  const totals = new Map<number, number>()
  for (const s of profile.sample) {
    const seen = new Set<number>()
    for (const id of s.locationId) {
      for (const line of locs.get(Number(id))?.line ?? []) {
        const fid = Number(line.functionId)
        if (seen.has(fid)) continue
        seen.add(fid)
        totals.set(fid, (totals.get(fid) ?? 0) + Number(s.value[last] ?? 0))
      }
    }
  }
  return [...fns.values()].map((f) => ({
    function: profileString(profile, f.name),
    file: profileString(profile, f.filename),
    value: totals.get(Number(f.id)) ?? 0,
  }))
}

/** A kit as the Pyroscope suites use it: own registry, captured logger, no periodic log. */
export function pyroscopeKit(options: OomkitOptions, kits: Oomkit[]): { kit: Oomkit; registry: Registry } & Captured {
  const cap = captureLogger()
  const registry = new Registry()
  const kit = createOomkit({ logger: cap.logger, registry, logIntervalMs: 0, defaultMetrics: false, snapshot: false, ...options })
  kits.push(kit)
  return { kit, registry, ...cap }
}

/** The value of one `oomkit_profile_uploads_total` series, or undefined when absent. */
export async function uploadsTotal(registry: Registry, profile: string, outcome: string): Promise<number | undefined> {
  const m = new RegExp(`^oomkit_profile_uploads_total\\{profile="${profile}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(await registry.metrics())
  return m === null ? undefined : Number(m[1])
}
