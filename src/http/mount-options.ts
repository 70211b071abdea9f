import { RANGES } from '../options/ranges.js'
import { checkKeys, intOption, invalidOption, tokenOption } from '../options/validate.js'

/** Options of `kit.listen()`: oomkit's own debug server. */
export interface ListenOptions {
  /** Port of the debug server; 0 picks a free one. @default 9469 */
  port?: number
  /** Address to bind. Without a token, debug routes answer only when this is loopback. @default "127.0.0.1" */
  host?: string
  /** Bearer token for `/debug/*`. @default none (loopback only) */
  token?: string
  /** Bearer token for `/metrics`. @default none (open) */
  metricsToken?: string
}

/** Options of `kit.handler()` and `oomkitExpress()`: oomkit's routes on the app's own port. */
export interface HandlerMountOptions {
  /** Bearer token for `/debug/*`. Required unless `allowUnauthenticated`. */
  token?: string
  /** Bearer token for `/metrics`. @default none (open) */
  metricsToken?: string
  /** Serve `/metrics` too. @default true */
  metrics?: boolean
  /** Serve `/debug/*` without any auth on the app's port (logs a warning once). @default false */
  allowUnauthenticated?: boolean
}

/** Where the debug server listens unless told otherwise (`OOMKIT_PORT`, `OOMKIT_HOST` too). */
export const LISTEN_DEFAULTS = Object.freeze({ port: 9469, host: '127.0.0.1' })

/** Listen options after validation. */
export interface ResolvedListen {
  readonly port: number
  readonly host: string
  readonly token: string | undefined
  readonly metricsToken: string | undefined
}

/** Handler options after validation. */
export interface ResolvedMount {
  readonly token: string | undefined
  readonly metricsToken: string | undefined
  readonly metrics: boolean
  /** No auth at all: `allowUnauthenticated` without a token. */
  readonly open: boolean
}

const LISTEN_KEYS = new Set(['port', 'host', 'token', 'metricsToken'])
const MOUNT_KEYS = new Set(['token', 'metricsToken', 'metrics', 'allowUnauthenticated'])

/** Validates `listen()` options; throws `OOMKIT_INVALID_OPTION` naming the bad one. */
export function resolveListen(options: ListenOptions = {}): ResolvedListen {
  const o = checkKeys('listen options', options, LISTEN_KEYS)
  const port = intOption('port', o.port, LISTEN_DEFAULTS.port, RANGES.port)
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0)) invalidOption('host', 'a host name or IP address', o.host)
  return {
    port,
    host: (o.host as string | undefined) ?? LISTEN_DEFAULTS.host,
    token: tokenOption('token', o.token),
    metricsToken: tokenOption('metricsToken', o.metricsToken),
  }
}

/** Validates `handler()` / `oomkitExpress()` options; throws `OOMKIT_INVALID_OPTION` naming the bad one. */
export function resolveMount(options: HandlerMountOptions = {}): ResolvedMount {
  const o = checkKeys('handler options', options, MOUNT_KEYS)
  const token = tokenOption('token', o.token)
  const metricsToken = tokenOption('metricsToken', o.metricsToken)
  if (o.metrics !== undefined && typeof o.metrics !== 'boolean') invalidOption('metrics', 'true or false', o.metrics)
  if (o.allowUnauthenticated !== undefined && typeof o.allowUnauthenticated !== 'boolean')
    invalidOption('allowUnauthenticated', 'true or false', o.allowUnauthenticated)
  return { token, metricsToken, metrics: o.metrics !== false, open: o.allowUnauthenticated === true && token === undefined }
}
