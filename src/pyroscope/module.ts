import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Profile } from 'pprof-format'
import { OomkitError, messageOf } from '../errors.js'
import type { ResolvedPyroscopeOptions } from './options.js'

/** What to do when `@pyroscope/nodejs` is missing: the one line the error and the README give. */
export const INSTALL_HINT = 'npm install @pyroscope/nodejs (an optional peer dependency of oomkit)'

/** A profile and its window, as `@pyroscope/nodejs`'s profilers hand them to its exporter. */
export interface ProfileExport {
  readonly profile: Profile
  readonly sampleRate?: number
  readonly startedAt: Date
  readonly stoppedAt: Date
}

/** `@pyroscope/nodejs`'s wall profiler (its `Profiler` interface), driven on oomkit's schedule. */
export interface WallSource {
  start(): void
  /** The profile since the last one; the profiler keeps running. */
  profile(): ProfileExport
  /** The last profile; the profiler stops. */
  stop(): ProfileExport | null
}

/** `@pyroscope/nodejs`, loaded and initialised. */
export interface LoadedPyroscope {
  readonly version: string
  /** The `@datadog/pprof` copy Pyroscope pins (its own, nested under it by npm). */
  readonly pprofPath: string
  readonly wall: WallSource
  /** Pyroscope's own frame naming (`./file.js:fn:line`), applied to every uploaded profile. */
  readonly processProfile: (profile: Profile) => Profile
}

interface PyroscopeModule {
  init(config: object): void
}

interface WallProfilerInternal {
  start(args: unknown): void
  profile(): ProfileExport
  stop(): ProfileExport | null
}

function unavailable(message: string, cause?: unknown): OomkitError {
  return new OomkitError('OOMKIT_PYROSCOPE_UNAVAILABLE', `Pyroscope profiling cannot start: ${message}`, cause === undefined ? undefined : { cause })
}

function isMissing(err: unknown, id: string): boolean {
  const e = err as NodeJS.ErrnoException
  return e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${id}'`)
}

/**
 * Loads `@pyroscope/nodejs` (its CommonJS build, with `require`: oomkit has no top-level await),
 * initialises it with the resolved options, and takes its wall profiler out of the continuous
 * profiler `init` built, so that oomkit schedules and uploads it. Its heap profiler is never
 * started: its pinned `@datadog/pprof` copy must not drive V8's one heap sampler, which oomkit's
 * copy already holds.
 *
 * Reaches into Pyroscope's `utils/pyroscope-profiler.js` (`getProfiler()`), identical in 0.4.x and
 * 0.6.x; a version without it fails with `OOMKIT_PYROSCOPE_UNAVAILABLE` naming the version.
 */
export function loadPyroscope(options: ResolvedPyroscopeOptions, tags: Readonly<Record<string, string>>): LoadedPyroscope {
  const req = createRequire(import.meta.url)
  let entry: string
  let mod: PyroscopeModule
  try {
    entry = req.resolve('@pyroscope/nodejs')
  } catch {
    // No cause attached: "Cannot find module" and its require stack add nothing to what to do.
    throw unavailable(`pyroscope is configured but @pyroscope/nodejs is not installed: ${INSTALL_HINT}`)
  }
  const from = createRequire(entry)
  try {
    const loaded = req(entry) as PyroscopeModule & { default?: PyroscopeModule }
    mod = typeof loaded.init === 'function' ? loaded : (loaded.default as PyroscopeModule)
  } catch (err) {
    if (isMissing(err, '@pyroscope/nodejs')) throw unavailable(`@pyroscope/nodejs is not installed: ${INSTALL_HINT}`, err)
    throw unavailable(`@pyroscope/nodejs did not load (${messageOf(err)}); reinstall it for this platform and Node version`, err)
  }
  const pkgDir = join(dirname(entry), '..', '..')
  let version = 'unknown'
  try {
    version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version ?? version
  } catch {
    // The version is for messages only.
  }
  const pprofPath = from.resolve('@datadog/pprof')
  const pprof = from(pprofPath) as { time?: { isStarted?: () => boolean } }
  if (pprof.time?.isStarted?.() === true) {
    throw unavailable("Pyroscope's wall profiler is already running in this process (Pyroscope.start() was called outside oomkit); start it in one place only")
  }
  let getProfiler: () => { wallProfiler?: { profiler?: WallProfilerInternal; startArgs?: unknown } }
  let processProfile: (profile: Profile, o?: object) => Profile = (p) => p
  try {
    if (typeof mod.init !== 'function') throw new Error('no init()')
    getProfiler = (from('./utils/pyroscope-profiler.js') as { getProfiler: typeof getProfiler }).getProfiler
    const processing = from('./utils/process-profile.js') as { processProfile?: typeof processProfile }
    if (typeof processing.processProfile === 'function') processProfile = processing.processProfile
  } catch (err) {
    throw unavailable(`@pyroscope/nodejs ${version} is not a version oomkit can drive (tested with 0.4.x to 0.6.x): ${messageOf(err)}`, err)
  }
  mod.init({
    appName: options.appName,
    serverAddress: options.serverAddress,
    tags,
    flushIntervalMs: options.flushIntervalMs,
    ...(options.authToken === null ? {} : { authToken: options.authToken }),
    ...(options.basicAuthUser === null ? {} : { basicAuthUser: options.basicAuthUser, basicAuthPassword: options.basicAuthPassword }),
    ...(options.tenantID === null ? {} : { tenantID: options.tenantID }),
    ...(options.wall === false ? {} : { wall: { ...options.wall } }),
    ...(options.heap === false ? {} : { heap: { ...options.heap } }),
    ...(options.stripFilenames === null ? {} : { stripFilenames: options.stripFilenames }),
    shortenPaths: options.shortenPaths,
  })
  const continuous = getProfiler().wallProfiler
  const wall = continuous?.profiler
  if (wall === undefined || typeof wall.start !== 'function' || typeof wall.profile !== 'function' || typeof wall.stop !== 'function') {
    throw unavailable(`@pyroscope/nodejs ${version} has no wall profiler where oomkit expects it (tested with 0.4.x to 0.6.x)`)
  }
  const startArgs = continuous?.startArgs
  const processOptions = { stripFilenames: options.stripFilenames ?? undefined, shortenPaths: options.shortenPaths }
  return {
    version,
    pprofPath,
    wall: {
      start: () => wall.start(startArgs),
      profile: () => wall.profile(),
      stop: () => wall.stop(),
    },
    processProfile: (profile) => processProfile(profile, processOptions),
  }
}
