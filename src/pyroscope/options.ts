import { type IntRange, RANGES } from '../options/ranges.js'
import { boolOption, checkKeys, intOption, invalidOption, isValidToken } from '../options/validate.js'
import { OomkitError } from '../errors.js'

/** Pyroscope's heap profile, read from oomkit's own sampler (`pyroscope.heap`). */
export interface PyroscopeHeapOptions {
  /** Interval V8 samples at when oomkit's `heapProfile` is off; otherwise the shared sampler keeps `heapProfile.intervalBytes`. @default 524288 */
  samplingIntervalBytes?: number
  /** Deepest stack recorded per sample when Pyroscope starts the sampler itself (1 to 512). @default 64 */
  stackDepth?: number
}

/** Pyroscope's wall profile (`pyroscope.wall`), run by `@pyroscope/nodejs` at its defaults. */
export interface PyroscopeWallOptions {
  /** Pyroscope's `samplingDurationMs` (1000 to 3,600,000). @default 60000 */
  samplingDurationMs?: number
  /** Time between two wall samples, in µs (100 to 1,000,000): 10000 is Pyroscope's 100 Hz. @default 10000 */
  samplingIntervalMicros?: number
  /** Also record CPU time per sample (Pyroscope's CPU profile). @default false */
  collectCpuTime?: boolean
}

/**
 * Continuous profiling with Grafana Pyroscope (`pyroscope`): `@pyroscope/nodejs` runs the wall
 * profile, oomkit's one heap sampler feeds the heap profile, and oomkit uploads both, bounded.
 *
 * @example
 * createOomkit({ pyroscope: { serverAddress: 'http://pyroscope:4040', appName: 'checkout', tags: { region: 'eu' } } })
 */
export interface PyroscopeOptions {
  /** Pyroscope (or Grafana Alloy) base URL, http or https, without credentials. @default "http://localhost:4040" */
  serverAddress?: string
  /** Application name (Pyroscope's `service_name`), without `{`, `}`, `,` or `=`. @default the `OTEL_SERVICE_NAME` variable (required when it is unset) */
  appName?: string
  /** Static tags on every profile; they override the default ones. @default {} */
  tags?: Record<string, string | number>
  /** Add `hostname`, `namespace`, `pod` (from `HOSTNAME`, `POD_NAMESPACE`, `POD_NAME`) and `service_name`. @default true */
  defaultTags?: boolean
  /** Bearer token (`Authorization: Bearer`). Exclusive with basic auth. */
  authToken?: string
  /** HTTP basic auth user (Grafana Cloud: the stack's user ID); needs `basicAuthPassword`. */
  basicAuthUser?: string
  /** HTTP basic auth password (Grafana Cloud: an API token); needs `basicAuthUser`. */
  basicAuthPassword?: string
  /** Tenant of a multi-tenant Pyroscope (`X-Scope-OrgID`). */
  tenantID?: string
  /** How often profiles are uploaded, in ms (1000 to 3,600,000). @default 60000 */
  flushIntervalMs?: number
  /** Longest one upload may take before it is abandoned, in ms (100 to 300,000). @default 10000 */
  uploadTimeoutMs?: number
  /** The heap profile, or false to send wall profiles only. @default { samplingIntervalBytes: 524288, stackDepth: 64 } */
  heap?: PyroscopeHeapOptions | false
  /** The wall profile, or false to send heap profiles only. @default { samplingDurationMs: 60000, samplingIntervalMicros: 10000, collectCpuTime: false } */
  wall?: PyroscopeWallOptions | false
  /** Pyroscope's `stripFilenames`: drop file names from `all` frames or from `dependencies`. @default null (keep them) */
  stripFilenames?: 'all' | 'dependencies'
  /** Pyroscope's `shortenPaths`: name dependency frames from their package. @default false */
  shortenPaths?: boolean
}

/** `pyroscope` after defaults; frozen. */
export interface ResolvedPyroscopeOptions {
  readonly serverAddress: string
  readonly appName: string
  readonly tags: Readonly<Record<string, string>>
  readonly defaultTags: boolean
  readonly authToken: string | null
  readonly basicAuthUser: string | null
  readonly basicAuthPassword: string | null
  readonly tenantID: string | null
  readonly flushIntervalMs: number
  readonly uploadTimeoutMs: number
  readonly heap: Readonly<Required<PyroscopeHeapOptions>> | false
  readonly wall: Readonly<Required<PyroscopeWallOptions>> | false
  readonly stripFilenames: 'all' | 'dependencies' | null
  readonly shortenPaths: boolean
}

/** Bounds of the numeric options; the `PYROSCOPE_*` variables are checked against the same rows. */
export const PYROSCOPE_RANGES = Object.freeze({
  flushIntervalMs: { min: 1000, max: 3_600_000 },
  uploadTimeoutMs: { min: 100, max: 300_000 },
  samplingIntervalBytes: RANGES['heapProfile.intervalBytes'],
  stackDepth: RANGES['heapProfile.stackDepth'],
  samplingDurationMs: { min: 1000, max: 3_600_000 },
  samplingIntervalMicros: { min: 100, max: 1_000_000 },
} satisfies Record<string, IntRange>)

const HEAP_DEFAULTS = Object.freeze({ samplingIntervalBytes: 524_288, stackDepth: 64 })
const WALL_DEFAULTS = Object.freeze({ samplingDurationMs: 60_000, samplingIntervalMicros: 10_000, collectCpuTime: false })

/** Pyroscope's defaults (its `@pyroscope/nodejs` ones); `appName` '' stands for `OTEL_SERVICE_NAME`. The option itself is off by default. */
export const PYROSCOPE_DEFAULTS: ResolvedPyroscopeOptions = Object.freeze({
  serverAddress: 'http://localhost:4040',
  appName: '',
  tags: Object.freeze({}),
  defaultTags: true,
  authToken: null,
  basicAuthUser: null,
  basicAuthPassword: null,
  tenantID: null,
  flushIntervalMs: 60_000,
  uploadTimeoutMs: 10_000,
  heap: HEAP_DEFAULTS,
  wall: WALL_DEFAULTS,
  stripFilenames: null,
  shortenPaths: false,
})

const KEYS = new Set(Object.keys(PYROSCOPE_DEFAULTS))
/** Characters Pyroscope's name syntax `app{k=v,...}` reserves. */
const RESERVED = /[{},=]/
/** Tag keys: label names, dots allowed (Pyroscope's own `process.runtime.name`). */
const TAG_KEY = /^[A-Za-z_][A-Za-z0-9_.]{0,99}$/
const MAX_TAGS = 64

/** A name or tag value Pyroscope's `app{k=v}` syntax can carry: 1 to 1024 printable characters, none of `{},=`. */
export function isValidLabelValue(value: string): boolean {
  return value.length > 0 && value.length <= 1024 && !RESERVED.test(value) && !hasControlCharacter(value)
}

/** Whether a string holds a C0 control character or DEL (which no header or label may carry). */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

function labelValue(name: string, value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string' || !isValidLabelValue(value)) invalidOption(name, 'a string of 1 to 1024 characters without {, }, , or = (or a number)', value)
  return value
}

/** Checks a Pyroscope base URL: http(s), no credentials, query or fragment; trailing slashes dropped. */
export function checkServerAddress(name: string, value: unknown): string {
  const fail = (): never => invalidOption(name, 'an http:// or https:// URL without credentials, query or fragment', value)
  if (typeof value !== 'string') return fail()
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail()
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') fail()
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '')
}

function secret(name: string, value: unknown): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string' || !isValidToken(value)) {
    throw new OomkitError(
      'OOMKIT_INVALID_OPTION',
      `Invalid option ${name}: expected 1 to 4096 visible ASCII characters without spaces (its value is not shown)`,
    )
  }
  return value
}

function resolveTags(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return PYROSCOPE_DEFAULTS.tags
  const proto = value === null || typeof value !== 'object' ? undefined : Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) invalidOption('pyroscope.tags', 'a plain object of tag names to values', value)
  const entries = Object.entries(value as object)
  if (entries.length > MAX_TAGS) invalidOption('pyroscope.tags', `at most ${MAX_TAGS} tags`, value)
  const out: Record<string, string> = {}
  for (const [key, v] of entries) {
    if (!TAG_KEY.test(key)) invalidOption(`pyroscope.tags.${key.slice(0, 40)}`, 'a tag name of letters, digits, _ and . (not starting with a digit)', key)
    out[key] = labelValue(`pyroscope.tags.${key}`, v)
  }
  return Object.freeze(out)
}

function resolveHeap(value: unknown): ResolvedPyroscopeOptions['heap'] {
  if (value === undefined) return HEAP_DEFAULTS
  if (value === false) return false
  const o = checkKeys('pyroscope.heap', value, new Set(Object.keys(HEAP_DEFAULTS)))
  return Object.freeze({
    samplingIntervalBytes: intOption(
      'pyroscope.heap.samplingIntervalBytes',
      o.samplingIntervalBytes,
      HEAP_DEFAULTS.samplingIntervalBytes,
      PYROSCOPE_RANGES.samplingIntervalBytes,
    ),
    stackDepth: intOption('pyroscope.heap.stackDepth', o.stackDepth, HEAP_DEFAULTS.stackDepth, PYROSCOPE_RANGES.stackDepth),
  })
}

function resolveWall(value: unknown): ResolvedPyroscopeOptions['wall'] {
  if (value === undefined) return WALL_DEFAULTS
  if (value === false) return false
  const o = checkKeys('pyroscope.wall', value, new Set(Object.keys(WALL_DEFAULTS)))
  return Object.freeze({
    samplingDurationMs: intOption(
      'pyroscope.wall.samplingDurationMs',
      o.samplingDurationMs,
      WALL_DEFAULTS.samplingDurationMs,
      PYROSCOPE_RANGES.samplingDurationMs,
    ),
    samplingIntervalMicros: intOption(
      'pyroscope.wall.samplingIntervalMicros',
      o.samplingIntervalMicros,
      WALL_DEFAULTS.samplingIntervalMicros,
      PYROSCOPE_RANGES.samplingIntervalMicros,
    ),
    collectCpuTime: boolOption('pyroscope.wall.collectCpuTime', o.collectCpuTime, WALL_DEFAULTS.collectCpuTime),
  })
}

/**
 * Validates `pyroscope`: off unless given (`undefined` or `false`). `appName` falls back to the
 * `OTEL_SERVICE_NAME` variable; with neither, the option is invalid (Pyroscope needs a service).
 */
export function resolvePyroscope(value: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedPyroscopeOptions | false {
  if (value === undefined || value === false) return false
  const o = checkKeys('pyroscope', value, KEYS)
  const d = PYROSCOPE_DEFAULTS
  let appName: string
  if (o.appName !== undefined) appName = labelValue('pyroscope.appName', o.appName)
  else if (env.OTEL_SERVICE_NAME !== undefined && env.OTEL_SERVICE_NAME !== '')
    appName = labelValue('OTEL_SERVICE_NAME (pyroscope.appName)', env.OTEL_SERVICE_NAME)
  else invalidOption('pyroscope.appName', 'the application name Pyroscope files the profiles under (or the OTEL_SERVICE_NAME variable)', undefined)
  const user = secret('pyroscope.basicAuthUser', o.basicAuthUser)
  const password = secret('pyroscope.basicAuthPassword', o.basicAuthPassword)
  if ((user === null) !== (password === null))
    invalidOption(user === null ? 'pyroscope.basicAuthUser' : 'pyroscope.basicAuthPassword', 'basicAuthUser and basicAuthPassword together', undefined)
  const authToken = secret('pyroscope.authToken', o.authToken)
  if (authToken !== null && user !== null) invalidOption('pyroscope.authToken', 'either authToken or basicAuthUser/basicAuthPassword, not both', '(both given)')
  const heap = resolveHeap(o.heap)
  const wall = resolveWall(o.wall)
  if (heap === false && wall === false) invalidOption('pyroscope', 'at least one of heap and wall on (or pyroscope: false)', value)
  const strip = o.stripFilenames
  if (strip !== undefined && strip !== 'all' && strip !== 'dependencies') invalidOption('pyroscope.stripFilenames', '"all" or "dependencies"', strip)
  return Object.freeze({
    serverAddress: o.serverAddress === undefined ? d.serverAddress : checkServerAddress('pyroscope.serverAddress', o.serverAddress),
    appName,
    tags: resolveTags(o.tags),
    defaultTags: boolOption('pyroscope.defaultTags', o.defaultTags, d.defaultTags),
    authToken,
    basicAuthUser: user,
    basicAuthPassword: password,
    tenantID: secret('pyroscope.tenantID', o.tenantID),
    flushIntervalMs: intOption('pyroscope.flushIntervalMs', o.flushIntervalMs, d.flushIntervalMs, PYROSCOPE_RANGES.flushIntervalMs),
    uploadTimeoutMs: intOption('pyroscope.uploadTimeoutMs', o.uploadTimeoutMs, d.uploadTimeoutMs, PYROSCOPE_RANGES.uploadTimeoutMs),
    heap,
    wall,
    stripFilenames: strip ?? null,
    shortenPaths: boolOption('pyroscope.shortenPaths', o.shortenPaths, d.shortenPaths),
  })
}
