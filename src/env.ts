import { CORE_DEFAULTS as DEFAULTS } from './options/core.js'
import { type IntRange, RANGES } from './options/ranges.js'
import { TOKEN_FORM, isValidToken } from './options/validate.js'
import { OomkitError } from './errors.js'
import { LISTEN_DEFAULTS } from './http/mount-options.js'
import { type PyroscopeOptions, readPyroscopeEnv } from './pyroscope/index.js'

/** Every variable oomkit/register reads, with its meaning (the README's table mirrors this). */
export const ENV_VARS = Object.freeze({
  OOMKIT_PORT: 'debug server port (0 to 65535)',
  OOMKIT_HOST: 'debug server address',
  OOMKIT_TOKEN: 'bearer token for /debug/*',
  OOMKIT_METRICS_TOKEN: 'bearer token for /metrics',
  OOMKIT_SAMPLE_INTERVAL: 'sampling interval (duration)',
  OOMKIT_LOG_INTERVAL: 'periodic memory log interval (duration, 0 = off)',
  OOMKIT_WARN_RATIO: 'working set / limit ratio that warns',
  OOMKIT_CRITICAL_RATIO: 'working set / limit ratio that is critical',
  OOMKIT_DIAGNOSTICS_DIR: 'where last words and snapshot temp files go',
  OOMKIT_HEAP_PROFILE: 'sampling heap profiler: on, off, or a sampling interval in bytes',
  OOMKIT_PYROSCOPE: 'Pyroscope profiling: on, off, wall or heap (default: on when PYROSCOPE_SERVER_ADDRESS is set)',
} as const)

function invalidEnv(name: string, value: string, expected: string): never {
  throw new OomkitError('OOMKIT_INVALID_ENV', `${name}=${value.length > 60 ? `${value.slice(0, 57)}...` : value}: expected ${expected}`)
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration such as `30s`, `5m`, `1500ms` or `1h` into ms; `0` alone is accepted where
 * `allowZero` (an interval that can be turned off).
 */
export function parseDuration(name: string, value: string, allowZero = false): number {
  const v = value.trim()
  if (allowZero && v === '0') return 0
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(v)
  if (m === null) invalidEnv(name, value, `a duration such as 30s, 5m or 1500ms${allowZero ? ' (or 0 for off)' : ''}`)
  return Number(m[1]) * (UNITS[m[2] as string] as number)
}

/**
 * A duration within the bounds createOomkit accepts for the option it feeds, so that a value
 * out of range fails naming the variable, not the option.
 */
function durationInRange(name: string, value: string, range: IntRange): number {
  const allowZero = range.zeroOff === true
  const ms = parseDuration(name, value, allowZero)
  if (allowZero && ms === 0) return 0
  if (ms < range.min || ms > range.max)
    invalidEnv(name, value, `a duration from ${formatMs(range.min)} to ${formatMs(range.max)}${allowZero ? ' (or 0 for off)' : ''}`)
  return ms
}

function formatMs(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = UNITS[unit] as number
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

function parseRatio(name: string, value: string): number {
  const v = value.trim()
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(v) || Number(v) <= 0) invalidEnv(name, value, 'a number above 0 and up to 1, such as 0.85')
  return Number(v)
}

function parsePort(name: string, value: string): number {
  const v = value.trim()
  const r = RANGES.port
  if (!/^\d{1,5}$/.test(v) || Number(v) < r.min || Number(v) > r.max) invalidEnv(name, value, `a port number from ${r.min} to ${r.max}`)
  return Number(v)
}

/** What oomkit/register builds from the environment. */
export interface EnvConfig {
  readonly options: {
    sampleIntervalMs?: number
    logIntervalMs?: number
    warnRatio?: number
    criticalRatio?: number
    diagnosticsDir?: string
    heapProfile?: { intervalBytes: number } | false
    pyroscope?: PyroscopeOptions | false
  }
  readonly listen: { port: number; host: string; token?: string; metricsToken?: string }
}

/**
 * Reads the `OOMKIT_*` variables, and the standard `PYROSCOPE_*` ones (see `readPyroscopeEnv`). A bad value throws `OOMKIT_INVALID_ENV` naming the variable and
 * the expected form; unset or empty variables keep their defaults.
 */
export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const get = (name: keyof typeof ENV_VARS): string | undefined => {
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const options: EnvConfig['options'] = {}
  const sample = get('OOMKIT_SAMPLE_INTERVAL')
  // The bounds are createOomkit's, from the same table.
  if (sample !== undefined) options.sampleIntervalMs = durationInRange('OOMKIT_SAMPLE_INTERVAL', sample, RANGES.sampleIntervalMs)
  const log = get('OOMKIT_LOG_INTERVAL')
  if (log !== undefined) options.logIntervalMs = durationInRange('OOMKIT_LOG_INTERVAL', log, RANGES.logIntervalMs)
  const warn = get('OOMKIT_WARN_RATIO')
  if (warn !== undefined) options.warnRatio = parseRatio('OOMKIT_WARN_RATIO', warn)
  const critical = get('OOMKIT_CRITICAL_RATIO')
  if (critical !== undefined) options.criticalRatio = parseRatio('OOMKIT_CRITICAL_RATIO', critical)
  const warnRatio = options.warnRatio ?? DEFAULTS.warnRatio
  const criticalRatio = options.criticalRatio ?? DEFAULTS.criticalRatio
  if (warnRatio >= criticalRatio) {
    if (warn !== undefined) invalidEnv('OOMKIT_WARN_RATIO', warn, `a number below OOMKIT_CRITICAL_RATIO (${criticalRatio})`)
    invalidEnv('OOMKIT_CRITICAL_RATIO', critical ?? '', `a number above OOMKIT_WARN_RATIO (${warnRatio})`)
  }
  const dir = get('OOMKIT_DIAGNOSTICS_DIR')
  if (dir !== undefined) options.diagnosticsDir = dir
  const profile = get('OOMKIT_HEAP_PROFILE')
  if (profile !== undefined) {
    const p = profile.trim().toLowerCase()
    if (p === 'off') options.heapProfile = false
    else if (p !== 'on') {
      const r = RANGES['heapProfile.intervalBytes']
      if (!/^\d{1,9}$/.test(p) || Number(p) < r.min || Number(p) > r.max)
        invalidEnv('OOMKIT_HEAP_PROFILE', profile, `on, off, or a sampling interval in bytes from ${r.min} to ${r.max}`)
      options.heapProfile = { intervalBytes: Number(p) }
    }
  }
  const pyroscope = readPyroscopeEnv(env)
  if (pyroscope !== undefined) options.pyroscope = pyroscope
  const port = get('OOMKIT_PORT')
  const listen: EnvConfig['listen'] = {
    port: port === undefined ? LISTEN_DEFAULTS.port : parsePort('OOMKIT_PORT', port),
    host: get('OOMKIT_HOST') ?? LISTEN_DEFAULTS.host,
  }
  for (const [name, key] of [
    ['OOMKIT_TOKEN', 'token'],
    ['OOMKIT_METRICS_TOKEN', 'metricsToken'],
  ] as const) {
    const value = get(name)
    if (value === undefined) continue
    if (!isValidToken(value)) throw new OomkitError('OOMKIT_INVALID_ENV', `${name}: expected ${TOKEN_FORM}`)
    listen[key] = value
  }
  return { options, listen }
}
