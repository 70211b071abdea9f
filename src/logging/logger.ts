import { pino } from 'pino'
import type { OomkitLogger } from '../config.js'

/** The logger oomkit writes to when the app passes none: pino on stdout, synchronous writes. */
export function defaultLogger(): OomkitLogger {
  return pino({ name: 'oomkit' })
}

/**
 * Flushes a logger's buffered output, if it has any. pino's default destination writes
 * synchronously already; an async destination (`pino.destination({ sync: false })`) or a
 * transport has `flush`, which this calls so a SIGKILL right after cannot lose the line.
 */
export function flushLogger(logger: OomkitLogger): void {
  try {
    logger.flush?.()
  } catch {
    // A logger that cannot flush must not take the caller down with it.
  }
}
