import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OomkitError, describeValue } from './errors.js'

/** The subset of a pino logger oomkit writes to. Any pino logger (or child) fits. */
export interface OomkitLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  flush?(cb?: (err?: Error) => void): void
}

/** Options of {@link createOomkit}. Every one has a default; bad values throw `OOMKIT_INVALID_OPTION`. */
export interface OomkitOptions {
  /** pino logger oomkit writes to. @default a pino logger on stdout, `name: "oomkit"` */
  logger?: OomkitLogger
  /** prom-client registry to register into; the app and oomkit must share it. @default prom-client's default `register` */
  registry?: import('prom-client').Registry<import('prom-client').RegistryContentType>
  /** How often the sampler reads process, V8 and cgroup memory, in ms (100 to 3,600,000). @default 5000 */
  sampleIntervalMs?: number
  /** How often the `"memory"` info line is logged, in ms; 0 turns it off (else 1000 to 86,400,000). @default 30000 */
  logIntervalMs?: number
  /** Samples kept in the history ring (1 to 10,000). @default 120 */
  historySize?: number
  /** Working set / limit ratio that logs a warning once per episode (0 < r < criticalRatio). @default 0.85 */
  warnRatio?: number
  /** Working set / limit ratio that logs an error once per episode (warnRatio < r ≤ 1). @default 0.95 */
  criticalRatio?: number
  /** Share of the container limit recommended for `--max-old-space-size` (0.1 to 0.95). @default 0.75 */
  heapRatio?: number
  /** Directory for last words and snapshot temp files (created 0700). @default `<os.tmpdir()>/oomkit` */
  diagnosticsDir?: string
  /** Where the cgroup filesystem is mounted; point it at a fixture tree in tests. @default "/sys/fs/cgroup" */
  cgroupRoot?: string
  /** Where procfs is mounted (`<procRoot>/self/cgroup`, `<procRoot>/self/mountinfo`). @default "/proc" */
  procRoot?: string
  /** Register prom-client's default metrics too (skipped when the registry already has them). @default true */
  defaultMetrics?: boolean
  /** Longest a metrics collector may take before its series are skipped from a scrape, in ms (10 to 10,000). @default 500 */
  collectorTimeoutMs?: number
  /** The always-on sampling heap profiler, or false to turn it off. @default { intervalBytes: 524288 } */
  heapProfile?: HeapProfileOptions | false
  /** The guarded heap snapshot route, or false to turn `/debug/heap` off. @default { cooldownMs: 60000, allowTmpfs: false, idleTimeoutMs: 30000 } */
  snapshot?: SnapshotOptions | false
}

/** Options of the sampling heap profiler. */
export interface HeapProfileOptions {
  /** Average bytes between samples (1024 to 16,777,216); smaller is more precise and costlier. @default 524288 */
  intervalBytes?: number
  /** Deepest stack recorded per sample (1 to 512). @default 64 */
  stackDepth?: number
}

/** Options of the heap snapshot guard. */
export interface SnapshotOptions {
  /** Least time between two snapshots, in ms (0 to 86,400,000). @default 60000 */
  cooldownMs?: number
  /** Allow the temp file on tmpfs, whose pages count against the container's memory limit. @default false */
  allowTmpfs?: boolean
  /**
   * How long a download may go without the client accepting any bytes, in ms (1000 to 600,000),
   * before it is cut off: a stalled client would otherwise hold the one-at-a-time slot and the
   * deleted temp file's disk space for as long as it likes. Only a lack of progress counts; a slow
   * client that keeps reading is never cut off. Not under a second: one TCP retransmission can
   * pause a healthy client that long. @default 30000
   */
  idleTimeoutMs?: number
}

/** Options after defaults are applied; frozen. */
export interface ResolvedOptions {
  readonly logger: OomkitLogger | undefined
  readonly registry: import('prom-client').Registry<import('prom-client').RegistryContentType> | undefined
  readonly sampleIntervalMs: number
  readonly logIntervalMs: number
  readonly historySize: number
  readonly warnRatio: number
  readonly criticalRatio: number
  readonly heapRatio: number
  readonly diagnosticsDir: string
  readonly cgroupRoot: string
  readonly procRoot: string
  readonly defaultMetrics: boolean
  readonly collectorTimeoutMs: number
  readonly heapProfile: Readonly<Required<HeapProfileOptions>> | false
  readonly snapshot: Readonly<Required<SnapshotOptions>> | false
}

/** Defaults of every core option. */
export const DEFAULTS = Object.freeze({
  sampleIntervalMs: 5000,
  logIntervalMs: 30_000,
  historySize: 120,
  warnRatio: 0.85,
  criticalRatio: 0.95,
  heapRatio: 0.75,
  diagnosticsDir: join(tmpdir(), 'oomkit'),
  cgroupRoot: '/sys/fs/cgroup',
  procRoot: '/proc',
  defaultMetrics: true,
  collectorTimeoutMs: 500,
  heapProfile: Object.freeze({ intervalBytes: 524_288, stackDepth: 64 }),
  snapshot: Object.freeze({ cooldownMs: 60_000, allowTmpfs: false, idleTimeoutMs: 30_000 }),
})

const KNOWN = new Set<string>([
  'logger', 'registry', ...Object.keys(DEFAULTS),
])
const HEAP_PROFILE_KEYS = new Set(['intervalBytes', 'stackDepth'])
const SNAPSHOT_KEYS = new Set(['cooldownMs', 'allowTmpfs', 'idleTimeoutMs'])

function heapProfileOption(value: unknown): ResolvedOptions['heapProfile'] {
  if (value === undefined) return DEFAULTS.heapProfile
  if (value === false) return false
  const o = checkKeys('heapProfile', value, HEAP_PROFILE_KEYS)
  return Object.freeze({
    intervalBytes: intOption('heapProfile.intervalBytes', o.intervalBytes, DEFAULTS.heapProfile.intervalBytes, 1024, 16_777_216),
    stackDepth: intOption('heapProfile.stackDepth', o.stackDepth, DEFAULTS.heapProfile.stackDepth, 1, 512),
  })
}

function snapshotOption(value: unknown): ResolvedOptions['snapshot'] {
  if (value === undefined) return DEFAULTS.snapshot
  if (value === false) return false
  const o = checkKeys('snapshot', value, SNAPSHOT_KEYS)
  return Object.freeze({
    cooldownMs: intOption('snapshot.cooldownMs', o.cooldownMs, DEFAULTS.snapshot.cooldownMs, 0, 86_400_000),
    allowTmpfs: boolOption('snapshot.allowTmpfs', o.allowTmpfs, DEFAULTS.snapshot.allowTmpfs),
    idleTimeoutMs: intOption('snapshot.idleTimeoutMs', o.idleTimeoutMs, DEFAULTS.snapshot.idleTimeoutMs, 1000, 600_000),
  })
}

/** Throws the standard invalid-option error. */
export function invalidOption(name: string, expected: string, given: unknown): never {
  throw new OomkitError(
    'OOMKIT_INVALID_OPTION',
    `Invalid option ${name}: expected ${expected}, got ${describeValue(given)}`,
  )
}

/** Checks an integer option in [min, max]; returns the default when undefined. */
export function intOption(name: string, value: unknown, def: number, min: number, max: number): number {
  if (value === undefined) return def
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `an integer from ${min} to ${max}`, value)
  }
  return value
}

function ratioOption(name: string, value: unknown, def: number, min: number, max: number, minOpen: boolean): number {
  if (value === undefined) return def
  const expected = `a number ${minOpen ? 'above' : 'from'} ${min} ${minOpen ? 'and up to' : 'to'} ${max}`
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max || (minOpen ? value <= min : value < min)) {
    invalidOption(name, expected, value)
  }
  return value
}

function stringOption(name: string, value: unknown, def: string): string {
  if (value === undefined) return def
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) invalidOption(name, 'a non-empty path string', value)
  return value
}

function boolOption(name: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def
  if (typeof value !== 'boolean') invalidOption(name, 'true or false', value)
  return value
}

/** Rejects anything that is not a plain object, and names the first unknown key. */
export function checkKeys(name: string, value: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  const proto = value === null || typeof value !== 'object' ? undefined : Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) invalidOption(name, 'a plain object', value)
  for (const key of Object.keys(value as object)) {
    if (!known.has(key)) {
      throw new OomkitError(
        'OOMKIT_INVALID_OPTION',
        `Unknown option ${name === 'options' ? key : `${name}.${key}`}: expected one of ${[...known].sort().join(', ')}`,
      )
    }
  }
  return value as Record<string, unknown>
}

function loggerOption(value: unknown): OomkitLogger | undefined {
  if (value === undefined) return undefined
  const l = value as Record<string, unknown> | null
  if (l === null || typeof l !== 'object' || !['info', 'warn', 'error', 'debug'].every((m) => typeof l[m] === 'function')) {
    invalidOption('logger', 'a pino logger (an object with info, warn, error and debug methods)', value)
  }
  return value as OomkitLogger
}

function registryOption(value: unknown): ResolvedOptions['registry'] {
  if (value === undefined) return undefined
  const r = value as Record<string, unknown> | null
  if (r === null || typeof r !== 'object' || typeof r.registerMetric !== 'function' || typeof r.getSingleMetric !== 'function' || typeof r.metrics !== 'function') {
    invalidOption('registry', 'a prom-client Registry', value)
  }
  return value as ResolvedOptions['registry']
}

/** Validates options and applies defaults. Throws `OomkitError` (`OOMKIT_INVALID_OPTION`) on the first bad one. */
export function resolveOptions(input: OomkitOptions | undefined = {}): ResolvedOptions {
  const o = checkKeys('options', input, KNOWN)
  const warnRatio = ratioOption('warnRatio', o.warnRatio, DEFAULTS.warnRatio, 0, 1, true)
  const criticalRatio = ratioOption('criticalRatio', o.criticalRatio, DEFAULTS.criticalRatio, 0, 1, true)
  if (warnRatio >= criticalRatio) {
    invalidOption('warnRatio', `a number below criticalRatio (${criticalRatio})`, warnRatio)
  }
  const logIntervalMs = intOption('logIntervalMs', o.logIntervalMs, DEFAULTS.logIntervalMs, 0, 86_400_000)
  if (logIntervalMs !== 0 && logIntervalMs < 1000) invalidOption('logIntervalMs', '0 (off) or an integer from 1000 to 86400000', logIntervalMs)
  return Object.freeze({
    logger: loggerOption(o.logger),
    registry: registryOption(o.registry),
    sampleIntervalMs: intOption('sampleIntervalMs', o.sampleIntervalMs, DEFAULTS.sampleIntervalMs, 100, 3_600_000),
    logIntervalMs,
    historySize: intOption('historySize', o.historySize, DEFAULTS.historySize, 1, 10_000),
    warnRatio,
    criticalRatio,
    heapRatio: ratioOption('heapRatio', o.heapRatio, DEFAULTS.heapRatio, 0.1, 0.95, false),
    diagnosticsDir: stringOption('diagnosticsDir', o.diagnosticsDir, DEFAULTS.diagnosticsDir),
    cgroupRoot: stringOption('cgroupRoot', o.cgroupRoot, DEFAULTS.cgroupRoot),
    procRoot: stringOption('procRoot', o.procRoot, DEFAULTS.procRoot),
    defaultMetrics: boolOption('defaultMetrics', o.defaultMetrics, DEFAULTS.defaultMetrics),
    collectorTimeoutMs: intOption('collectorTimeoutMs', o.collectorTimeoutMs, DEFAULTS.collectorTimeoutMs, 10, 10_000),
    heapProfile: heapProfileOption(o.heapProfile),
    snapshot: snapshotOption(o.snapshot),
  })
}

/** What a bearer token must be: 1 to 4096 visible ASCII characters (it travels in a header). */
export const TOKEN_FORM = '1 to 4096 visible ASCII characters without spaces'

/** Whether a string can be used as a bearer token. */
export function isValidToken(value: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(value)
}

/** Checks a bearer token option. */
export function tokenOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') invalidOption(name, TOKEN_FORM, value)
  // Never echo a token back: say only that it is a string of the wrong form.
  if (!isValidToken(value)) {
    throw new OomkitError('OOMKIT_INVALID_OPTION', `Invalid option ${name}: expected ${TOKEN_FORM}, got a string that is not (its value is not shown)`)
  }
  return value
}
