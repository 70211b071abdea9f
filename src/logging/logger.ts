import { pino } from 'pino'

/** The subset of a pino logger oomkit writes to. Any pino logger (or child) fits. */
export interface OomkitLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  flush?(cb?: (err?: Error) => void): void
}

/** The logger oomkit writes to when the app passes none: pino on stdout, synchronous writes. */
export function defaultLogger(): OomkitLogger {
  return pino({ name: 'oomkit' })
}

/**
 * Flushes a logger's buffered output, if it has any. pino's default destination writes
 * synchronously already. An async destination (`pino.destination({ sync: false })`) buffers, and
 * its `flush()` only schedules the write: a SIGKILL right after loses the line. So this writes
 * the buffer out with the stream's `flushSync()` (sonic-boom, multistream, transports) and falls
 * back to `flush()` where there is none or it cannot yet (a destination still opening its file).
 */
export function flushLogger(logger: OomkitLogger): void {
  try {
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { flushSync?: () => void } | undefined
    if (typeof stream?.flushSync === 'function') {
      stream.flushSync()
      return
    }
  } catch {
    // Not ready or not flushable synchronously: the async flush below is what is left.
  }
  try {
    logger.flush?.()
  } catch {
    // A logger that cannot flush must not take the caller down with it.
  }
}
