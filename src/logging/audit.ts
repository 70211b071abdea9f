import type { OomkitLogger } from '../logging/logger.js'

/** What one audit line is made of. */
export interface AuditInput {
  /**
   * The client's address, read when the request arrived: once the client has gone, the socket no
   * longer says whose it was, and an aborted download would be logged without one.
   */
  readonly remoteAddress: string | null
  readonly route: string
  readonly method: string
  /** The status the client got (oomkit's, or the HTTP server's own answer in its place), or null when it got none. */
  readonly status: number | null
  /** False when the response was cut off before oomkit ended it (the client went away, a stream broke). */
  readonly finished: boolean
  readonly started: bigint
  readonly extra: Record<string, unknown>
}

/**
 * Writes the one audit line of a debug request: route, method, outcome, status, remote address,
 * duration. Never the token, the query string or any header value.
 */
export function auditRequest(logger: OomkitLogger, input: AuditInput): void {
  const durationMs = Number(process.hrtime.bigint() - input.started) / 1e6
  const { outcome, ...extra } = input.extra
  const line = {
    audit: true,
    route: input.route.slice(0, 200),
    method: input.method.slice(0, 20),
    outcome: input.finished ? (outcome ?? 'ok') : 'aborted',
    status: input.status,
    remoteAddress: input.remoteAddress,
    durationMs: Math.round(durationMs * 10) / 10,
    ...extra,
  }
  try {
    const status = input.status ?? 0
    if (status >= 500) logger.error(line, 'oomkit debug request')
    else if (status === 401 || status === 403) logger.warn(line, 'oomkit debug request')
    else logger.info(line, 'oomkit debug request')
  } catch {
    // An audit line must never break the response.
  }
}
