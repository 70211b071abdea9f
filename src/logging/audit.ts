import type { IncomingMessage } from 'node:http'
import type { OomkitLogger } from '../logging/logger.js'

/** What one audit line is made of. */
export interface AuditInput {
  readonly req: IncomingMessage
  readonly route: string
  readonly method: string
  readonly status: number
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
    remoteAddress: input.req.socket.remoteAddress ?? null,
    durationMs: Math.round(durationMs * 10) / 10,
    ...extra,
  }
  try {
    if (input.status >= 500) logger.error(line, 'oomkit debug request')
    else if (input.status === 401 || input.status === 403) logger.warn(line, 'oomkit debug request')
    else logger.info(line, 'oomkit debug request')
  } catch {
    // An audit line must never break the response.
  }
}
