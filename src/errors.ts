/**
 * Every error oomkit raises or answers with carries one of these stable codes.
 * The README's "Error codes" table lists the same rows; a test keeps them in step.
 */
export const ERROR_CODES = Object.freeze({
  OOMKIT_INVALID_OPTION: { status: null, description: 'An option passed to createOomkit, listen or an adapter is not of the expected form.' },
  OOMKIT_INVALID_ENV: { status: null, description: 'An OOMKIT_* environment variable read by oomkit/register is not of the expected form.' },
  OOMKIT_LISTEN_FAILED: { status: null, description: 'The standalone debug server could not listen (port in use, permission denied, bad address).' },
  OOMKIT_UNSUPPORTED_POOL: {
    status: null,
    description: 'kit.leaks.trackPool was given an object that is not a pg.Pool, a mysql2 pool or a generic-pool Pool.',
  },
  OOMKIT_STOPPED: { status: null, description: 'The instance was stopped; create a new one to start again.' },
  OOMKIT_DUPLICATE_CACHE: {
    status: null,
    description: 'A cache of that name exists already in the instance (or among createCache caches); close it or pick another name.',
  },
  OOMKIT_CACHE_CLOSED: { status: null, description: 'The cache was closed; create a new one.' },
  OOMKIT_UNKEYABLE_ARGUMENTS: {
    status: null,
    description: "memoize's default key cannot key these arguments (a function, a class instance, a Map, a cycle, too deep or too long); pass options.key.",
  },
  OOMKIT_BAD_REQUEST: { status: 400, description: 'A query parameter has a bad value; the message names the parameter and the expected form.' },
  OOMKIT_UNAUTHORIZED: { status: 401, description: 'The route needs `Authorization: Bearer <token>` and the request had none or a wrong one.' },
  OOMKIT_TOKEN_REQUIRED: { status: 403, description: 'Debug routes on a non-loopback listener or on the app port need a token to be configured.' },
  OOMKIT_FORBIDDEN_HOST: { status: 403, description: 'Without a token, debug routes answer only for a loopback Host header (DNS rebinding guard).' },
  OOMKIT_NOT_FOUND: { status: 404, description: 'No such oomkit route (answered only after auth).' },
  OOMKIT_METHOD_NOT_ALLOWED: { status: 405, description: 'The route does not take that method; `Allow` lists the ones it takes.' },
  OOMKIT_SNAPSHOT_IN_PROGRESS: { status: 429, description: 'A heap snapshot is already being taken or downloaded; `Retry-After` says when to try again.' },
  OOMKIT_SNAPSHOT_COOLDOWN: {
    status: 429,
    description: 'The last heap snapshot was taken less than `snapshot.cooldownMs` ago; `Retry-After` gives the seconds left.',
  },
  OOMKIT_INSUFFICIENT_HEADROOM: {
    status: 503,
    description:
      'A heap snapshot now could get the process OOM-killed: the body gives `neededBytes` and `headroomBytes`; try `/debug/pprof/heap`, or `?force=1`.',
  },
  OOMKIT_SNAPSHOT_DIR_TMPFS: {
    status: 503,
    description:
      'The snapshot directory and its fallback `/var/tmp/oomkit` are on tmpfs (memory); set `diagnosticsDir` to a disk-backed volume or `snapshot.allowTmpfs`.',
  },
  OOMKIT_SNAPSHOT_DIR_UNUSABLE: {
    status: 503,
    description: 'The snapshot directory cannot be created or is unsafe (a symlink, owned by another user, writable by others).',
  },
  OOMKIT_DISK_FULL: {
    status: 507,
    description: 'No room on the filesystem for the heap snapshot (estimated beforehand, or ENOSPC while writing); nothing is left behind.',
  },
  OOMKIT_SNAPSHOT_FAILED: { status: 500, description: 'V8 failed to write a complete heap snapshot for another reason; the temp file was removed.' },
  OOMKIT_PROFILER_OFF: {
    status: 404,
    description:
      'The sampling heap profiler is off (`heapProfile: false`, `OOMKIT_HEAP_PROFILE=off`), not started, or could not start; turn it on with `heapProfile: { intervalBytes: 524288 }` or `OOMKIT_HEAP_PROFILE=on`.',
  },
  OOMKIT_PYROSCOPE_UNAVAILABLE: {
    status: null,
    description:
      'Pyroscope profiling was asked for but cannot start: `@pyroscope/nodejs` is not installed (`npm install @pyroscope/nodejs`), did not load, or another instance runs it; the rest of oomkit runs on.',
  },
  OOMKIT_INTERNAL: { status: 500, description: 'An unexpected failure inside a handler; the audit line has the details.' },
} as const)

/** One of oomkit's stable error codes. */
export type OomkitErrorCode = keyof typeof ERROR_CODES

/**
 * The one error class oomkit throws. `code` is stable and listed in the README.
 *
 * @example
 * try { createOomkit({ warnRatio: 2 }) } catch (err) {
 *   if (err instanceof OomkitError && err.code === 'OOMKIT_INVALID_OPTION') console.error(err.message)
 * }
 */
export class OomkitError extends Error {
  /** Stable machine-readable code, e.g. `OOMKIT_INVALID_OPTION`. */
  readonly code: OomkitErrorCode
  /** HTTP status this error maps to when it answers a request, or null. */
  readonly status: number | null

  constructor(code: OomkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'OomkitError'
    this.code = code
    this.status = ERROR_CODES[code].status
  }
}

/** Shows a value the way an error message should quote it: short, typed, never a secret's length. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  return 'an object'
}

/** The message of an error, or the value as text when something other than an Error was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
