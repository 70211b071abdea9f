import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Profile } from 'pprof-format'
import { profileString } from './pprof.js'

/** One row of `GET /debug/memory/top`: live sampled memory attributed to one function. */
export interface TopSite {
  /** Function name (`(anonymous)` for unnamed ones). */
  readonly function: string
  /** Absolute path of its file. */
  readonly file: string
  /** 1-based line where the function is defined (V8 samples per function). */
  readonly line: number
  /** Estimated live bytes allocated there or in the internals it called. */
  readonly bytes: number
  /** Estimated live objects. */
  readonly count: number
}

/** The row that sums stacks with no user frame at all (Node's bootstrap, oomkit itself). */
export const INTERNALS_ROW = '(internals)'

/**
 * oomkit's own source directories: `dist/src` and `dist/middleware` in the package (or `src` and
 * `middleware` when run from source), found from this file's own URL.
 */
export const OOMKIT_DIRS: readonly string[] = (() => {
  const srcDir = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
  return Object.freeze([srcDir + sep, join(srcDir, '..', 'middleware') + sep])
})()

/**
 * The packages oomkit reads profiles with: what they allocate while a profile is being read is
 * oomkit's doing, so their frames fold like oomkit's (into the app's code, if that called them).
 */
const PROFILING_PACKAGES = [`${sep}node_modules${sep}@datadog${sep}pprof${sep}`, `${sep}node_modules${sep}pprof-format${sep}`]

/** V8's synthetic frames: they have no file and are never where the app allocates. */
const SYNTHETIC = new Set(['(root)', '(program)', '(garbage collector)', '(idle)', '(V8 API)'])

/**
 * Whether a frame is not the user's: Node's internals (`node:` and `internal/` scripts), frames
 * without a file, V8's synthetic frames, oomkit's own code and the profile readers it uses
 * (`@datadog/pprof`, `pprof-format`).
 */
export function isInternalFrame(fn: string, file: string, ownDirs: readonly string[] = OOMKIT_DIRS): boolean {
  if (file === '' || SYNTHETIC.has(fn)) return true
  if (file.startsWith('node:') || file.startsWith('internal/') || file.startsWith('internal\\')) return true
  return ownDirs.some((dir) => file.startsWith(dir)) || PROFILING_PACKAGES.some((p) => file.includes(p))
}

/** Options of {@link topSites}. */
export interface TopSitesOptions {
  /** Directories whose frames count as oomkit's own. @default OOMKIT_DIRS */
  readonly ownDirs?: readonly string[]
}

function valueIndex(profile: Profile, type: string, fallback: number): number {
  const i = profile.sampleType.findIndex((t) => profileString(profile, t.type) === type)
  return i >= 0 ? i : fallback
}

/**
 * The top allocation sites of a heap profile, sorted by bytes (then objects) descending.
 *
 * Each sample is attributed to the first frame from the leaf that is not internal (see
 * {@link isInternalFrame}): an allocation inside `JSON.parse`'s Node wrapper, a stream or oomkit
 * is folded into the user function that called it, so the first row points at the app's code.
 * Samples with no user frame at all are summed into one `(internals)` row; no bytes vanish.
 *
 * @example
 * topSites(await profiler.profile(), 10)[0]   // { function: 'handleUpload', file: '/app/upload.js', line: 12, bytes, count }
 */
export function topSites(profile: Profile, limit: number, options: TopSitesOptions = {}): TopSite[] {
  const ownDirs = options.ownDirs ?? OOMKIT_DIRS
  const spaceAt = valueIndex(profile, 'inuse_space', profile.sampleType.length - 1)
  const objectsAt = valueIndex(profile, 'inuse_objects', 0)
  const functions = new Map(profile.function.map((f) => [Number(f.id), f]))
  const locations = new Map(profile.location.map((l) => [Number(l.id), l]))
  // Per location: the first user frame among its (inlined) lines, or null when all are internal.
  const userFrame = new Map<number, { function: string; file: string; line: number } | null>()

  function frameOf(locationId: number): { function: string; file: string; line: number } | null {
    if (userFrame.has(locationId)) return userFrame.get(locationId) ?? null
    let found: { function: string; file: string; line: number } | null = null
    for (const line of locations.get(locationId)?.line ?? []) {
      const fn = functions.get(Number(line.functionId))
      const name = fn === undefined ? '' : profileString(profile, fn.name)
      const file = fn === undefined ? '' : profileString(profile, fn.filename)
      if (!isInternalFrame(name, file, ownDirs)) {
        found = { function: name, file, line: Number(line.line) }
        break
      }
    }
    userFrame.set(locationId, found)
    return found
  }

  const rows = new Map<string, { function: string; file: string; line: number; bytes: number; count: number }>()
  for (const sample of profile.sample) {
    const bytes = Number(sample.value[spaceAt] ?? 0)
    const count = Number(sample.value[objectsAt] ?? 0)
    if (bytes === 0 && count === 0) continue
    let frame: { function: string; file: string; line: number } | null = null
    for (const id of sample.locationId) {
      frame = frameOf(Number(id))
      if (frame !== null) break
    }
    frame ??= { function: INTERNALS_ROW, file: '', line: 0 }
    const key = `${frame.function}\0${frame.file}\0${frame.line}`
    const row = rows.get(key)
    if (row === undefined) rows.set(key, { ...frame, bytes, count })
    else {
      row.bytes += bytes
      row.count += count
    }
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.function.localeCompare(b.function)).slice(0, Math.max(0, limit))
}
