import { pino } from 'pino'

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string }

/** Every line a captured logger wrote: parsed, as the exact text (to search for secrets), and how often it was flushed. */
export interface CapturedLog {
  readonly logger: pino.Logger
  readonly lines: LogLine[]
  readonly text: string[]
  /** How many times pino flushed the stream (critical lines are flushed at once). */
  flushes(): number
}

/**
 * The one log capture of the suites: a pino logger at debug level writing into memory, calling
 * `onLine` synchronously as each line is written.
 */
export function captureLog(onLine?: (line: LogLine) => void): CapturedLog {
  const lines: LogLine[] = []
  const text: string[] = []
  let flushes = 0
  const stream = {
    write(s: string) {
      text.push(s)
      const line = JSON.parse(s) as LogLine
      lines.push(line)
      onLine?.(line)
    },
    flush(cb?: (err?: Error) => void) {
      flushes++
      cb?.()
    },
  }
  return { logger: pino({ level: 'debug' }, stream), lines, text, flushes: () => flushes }
}

/** pino's level numbers. */
export const LEVEL = Object.freeze({ debug: 20, info: 30, warn: 40, error: 50 })
