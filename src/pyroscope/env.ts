import type { IntRange } from '../options/ranges.js'
import { OomkitError } from '../errors.js'
import { TOKEN_FORM, isValidToken } from '../options/validate.js'
import { type PyroscopeOptions, PYROSCOPE_RANGES, checkServerAddress, isValidLabelValue } from './options.js'

/**
 * The standard `PYROSCOPE_*` variables `@pyroscope/nodejs` reads (its `getEnv()`), and the auth
 * ones Pyroscope's docs name, as oomkit/register reads them. The README's Pyroscope table mirrors
 * this; they are Pyroscope's names, not oomkit's (`OOMKIT_PYROSCOPE` is oomkit's).
 */
export const PYROSCOPE_ENV_VARS = Object.freeze({
  PYROSCOPE_SERVER_ADDRESS: 'Pyroscope base URL; setting it turns continuous profiling on',
  PYROSCOPE_ADHOC_SERVER_ADDRESS: 'overrides PYROSCOPE_SERVER_ADDRESS, as in @pyroscope/nodejs',
  PYROSCOPE_APPLICATION_NAME: 'application name (service_name); OTEL_SERVICE_NAME when unset',
  PYROSCOPE_AUTH_TOKEN: 'bearer token',
  PYROSCOPE_BASIC_AUTH_USER: 'basic auth user (with PYROSCOPE_BASIC_AUTH_PASSWORD)',
  PYROSCOPE_BASIC_AUTH_PASSWORD: 'basic auth password (with PYROSCOPE_BASIC_AUTH_USER)',
  PYROSCOPE_TENANT_ID: 'tenant ID (X-Scope-OrgID)',
  PYROSCOPE_FLUSH_INTERVAL_MS: 'upload interval in ms',
  PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES: 'heap sampling interval in bytes (when heapProfile is off)',
  PYROSCOPE_HEAP_STACK_DEPTH: 'heap stack depth (when heapProfile is off)',
  PYROSCOPE_WALL_SAMPLING_DURATION_MS: 'wall profiler sampling duration in ms',
  PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS: 'wall sampling interval in µs',
  PYROSCOPE_WALL_COLLECT_CPU_TIME: 'record CPU time too: true or false',
  PYROSCOPE_STRIP_FILENAMES: 'all or dependencies',
  PYROSCOPE_SHORTEN_PATHS: 'true or false',
} as const)

type Name = keyof typeof PYROSCOPE_ENV_VARS | 'OOMKIT_PYROSCOPE'

function invalidEnv(name: string, value: string | null, expected: string): never {
  const shown = value === null ? '' : `=${value.length > 60 ? `${value.slice(0, 57)}...` : value}`
  throw new OomkitError('OOMKIT_INVALID_ENV', `${name}${shown}: expected ${expected}`)
}

function int(name: Name, value: string, range: IntRange, unit: string): number {
  const v = value.trim()
  if (!/^\d{1,10}$/.test(v) || Number(v) < range.min || Number(v) > range.max)
    invalidEnv(name, value, `an integer number of ${unit} from ${range.min} to ${range.max}`)
  return Number(v)
}

function bool(name: Name, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  return invalidEnv(name, value, 'true or false (or 1 or 0)')
}

function secret(name: Name, value: string): string {
  if (!isValidToken(value)) invalidEnv(name, null, `${TOKEN_FORM} (the value is not shown)`)
  return value
}

/**
 * Reads the `PYROSCOPE_*` variables and `OOMKIT_PYROSCOPE` into the `pyroscope` option:
 * undefined when neither turns it on (no `PYROSCOPE_SERVER_ADDRESS`), false for
 * `OOMKIT_PYROSCOPE=off`. `OOMKIT_PYROSCOPE=on|wall|heap` turns it on without an address
 * (Pyroscope's `http://localhost:4040`), with both profiles or one. A bad value throws
 * `OOMKIT_INVALID_ENV` naming the variable; secrets are never echoed.
 */
export function readPyroscopeEnv(env: NodeJS.ProcessEnv): PyroscopeOptions | false | undefined {
  const get = (name: Name): string | undefined => {
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const modeRaw = get('OOMKIT_PYROSCOPE')
  const mode = modeRaw?.trim().toLowerCase()
  if (mode !== undefined && !['on', 'off', 'wall', 'heap'].includes(mode)) invalidEnv('OOMKIT_PYROSCOPE', modeRaw as string, 'on, off, wall or heap')
  if (mode === 'off') return false
  const serverVar: Name = get('PYROSCOPE_ADHOC_SERVER_ADDRESS') === undefined ? 'PYROSCOPE_SERVER_ADDRESS' : 'PYROSCOPE_ADHOC_SERVER_ADDRESS'
  const server = get(serverVar)
  if (mode === undefined && server === undefined) return undefined

  const o: PyroscopeOptions = {}
  if (server !== undefined) {
    try {
      o.serverAddress = checkServerAddress(serverVar, server)
    } catch {
      invalidEnv(
        serverVar,
        server.includes('@') ? null : server,
        'an http:// or https:// URL without credentials, query or fragment (put credentials in PYROSCOPE_BASIC_AUTH_USER and PYROSCOPE_BASIC_AUTH_PASSWORD)',
      )
    }
  }
  const appVar: Name = 'PYROSCOPE_APPLICATION_NAME'
  const app = get(appVar) ?? (env.OTEL_SERVICE_NAME === '' ? undefined : env.OTEL_SERVICE_NAME)
  if (app === undefined) invalidEnv(appVar, null, 'the application name Pyroscope files the profiles under (or set OTEL_SERVICE_NAME)')
  if (!isValidLabelValue(app)) invalidEnv(get(appVar) === undefined ? 'OTEL_SERVICE_NAME' : appVar, app, 'a name of 1 to 1024 characters without {, }, , or =')
  o.appName = app

  const token = get('PYROSCOPE_AUTH_TOKEN')
  const user = get('PYROSCOPE_BASIC_AUTH_USER')
  const password = get('PYROSCOPE_BASIC_AUTH_PASSWORD')
  if (token !== undefined) o.authToken = secret('PYROSCOPE_AUTH_TOKEN', token)
  if ((user === undefined) !== (password === undefined)) {
    invalidEnv(
      user === undefined ? 'PYROSCOPE_BASIC_AUTH_USER' : 'PYROSCOPE_BASIC_AUTH_PASSWORD',
      null,
      'to be set with its pair (PYROSCOPE_BASIC_AUTH_USER and PYROSCOPE_BASIC_AUTH_PASSWORD)',
    )
  }
  if (user !== undefined && password !== undefined) {
    if (token !== undefined) invalidEnv('PYROSCOPE_AUTH_TOKEN', null, 'either PYROSCOPE_AUTH_TOKEN or basic auth, not both')
    o.basicAuthUser = secret('PYROSCOPE_BASIC_AUTH_USER', user)
    o.basicAuthPassword = secret('PYROSCOPE_BASIC_AUTH_PASSWORD', password)
  }
  const tenant = get('PYROSCOPE_TENANT_ID')
  if (tenant !== undefined) o.tenantID = secret('PYROSCOPE_TENANT_ID', tenant)

  const flush = get('PYROSCOPE_FLUSH_INTERVAL_MS')
  if (flush !== undefined) o.flushIntervalMs = int('PYROSCOPE_FLUSH_INTERVAL_MS', flush, PYROSCOPE_RANGES.flushIntervalMs, 'ms')
  const heapBytes = get('PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES')
  const heapDepth = get('PYROSCOPE_HEAP_STACK_DEPTH')
  if (mode === 'wall') o.heap = false
  else if (heapBytes !== undefined || heapDepth !== undefined) {
    o.heap = {
      ...(heapBytes === undefined
        ? {}
        : { samplingIntervalBytes: int('PYROSCOPE_HEAP_SAMPLING_INTERVAL_BYTES', heapBytes, PYROSCOPE_RANGES.samplingIntervalBytes, 'bytes') }),
      ...(heapDepth === undefined ? {} : { stackDepth: int('PYROSCOPE_HEAP_STACK_DEPTH', heapDepth, PYROSCOPE_RANGES.stackDepth, 'frames') }),
    }
  }
  const duration = get('PYROSCOPE_WALL_SAMPLING_DURATION_MS')
  const micros = get('PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS')
  const cpu = get('PYROSCOPE_WALL_COLLECT_CPU_TIME')
  if (mode === 'heap') o.wall = false
  else if (duration !== undefined || micros !== undefined || cpu !== undefined) {
    o.wall = {
      ...(duration === undefined
        ? {}
        : { samplingDurationMs: int('PYROSCOPE_WALL_SAMPLING_DURATION_MS', duration, PYROSCOPE_RANGES.samplingDurationMs, 'ms') }),
      ...(micros === undefined
        ? {}
        : { samplingIntervalMicros: int('PYROSCOPE_WALL_SAMPLING_INTERVAL_MICROS', micros, PYROSCOPE_RANGES.samplingIntervalMicros, 'µs') }),
      ...(cpu === undefined ? {} : { collectCpuTime: bool('PYROSCOPE_WALL_COLLECT_CPU_TIME', cpu) }),
    }
  }
  const strip = get('PYROSCOPE_STRIP_FILENAMES')
  if (strip !== undefined) {
    const s = strip.trim()
    if (s !== 'all' && s !== 'dependencies') invalidEnv('PYROSCOPE_STRIP_FILENAMES', strip, 'all or dependencies')
    o.stripFilenames = s
  }
  const shorten = get('PYROSCOPE_SHORTEN_PATHS')
  if (shorten !== undefined) o.shortenPaths = bool('PYROSCOPE_SHORTEN_PATHS', shorten)
  return o
}
