import { OomkitError, describeValue } from '../errors.js'
import type { IntRange } from '../options/ranges.js'
import { boolOption, checkKeys, intOption, invalidOption } from '../options/validate.js'

/** Options of connection-leak tracking (`leaks`). */
export interface LeaksOptions {
  /**
   * A lease held longer than this, in ms, is reported once at `warn` with its acquisition stack
   * (HikariCP's `leakDetectionThreshold`). 2,000 to 86,400,000; with a test `clock`, any value from 1.
   * @default 30000
   */
  holdThresholdMs?: number
  /** Most leases tracked at once (1 to 1,000,000); past it leases are counted but not tracked, and a warning says so once. @default 10000 */
  maxTracked?: number
  /** Capture an acquisition stack per lease (about 2 µs; formatted only when reported). `false` for the hottest paths. @default true */
  captureStacks?: boolean
  /** Track outgoing `net` sockets, `node:http` client requests and `fetch` (undici) requests through `diagnostics_channel`. @default true */
  sockets?: boolean
  /** How often leases are checked against their threshold, in ms (100 to 60,000). @default 1000 */
  checkIntervalMs?: number
  /** A test clock (monotonic milliseconds). With one, thresholds under 2 s are accepted. @default performance.now */
  clock?: (() => number) | null
}

/** `leaks` after defaults. */
export interface ResolvedLeaksOptions {
  readonly holdThresholdMs: number
  readonly maxTracked: number
  readonly captureStacks: boolean
  readonly sockets: boolean
  readonly checkIntervalMs: number
  /** The injected test clock, or null for `performance.now`. */
  readonly clock: (() => number) | null
}

/** The tracker's defaults. */
export const LEAKS_DEFAULTS: ResolvedLeaksOptions = Object.freeze({
  holdThresholdMs: 30_000,
  maxTracked: 10_000,
  captureStacks: true,
  sockets: true,
  checkIntervalMs: 1000,
  clock: null,
})

/** The bounds of the tracker's numeric options. */
export const LEAKS_RANGES = Object.freeze({
  holdThresholdMs: { min: 2000, max: 86_400_000 },
  /** With a test clock: short thresholds let tests run without sleeping. */
  holdThresholdMsTestClock: { min: 1, max: 86_400_000 },
  maxTracked: { min: 1, max: 1_000_000 },
  checkIntervalMs: { min: 100, max: 60_000 },
} satisfies Record<string, IntRange>)

const KEYS = new Set(Object.keys(LEAKS_DEFAULTS))

/** Checks a hold threshold: 2 s or more, unless a test clock is injected (then 1 ms or more). */
export function thresholdOption(name: string, value: unknown, def: number, testClock: boolean): number {
  if (value === undefined) return def
  if (!testClock && typeof value === 'number' && Number.isInteger(value) && value >= 1 && value < LEAKS_RANGES.holdThresholdMs.min) {
    throw new OomkitError(
      'OOMKIT_INVALID_OPTION',
      `Invalid option ${name}: expected an integer from 2000 to 86400000 (thresholds under 2 s report ordinary queries as leaks; they are accepted only with a test clock, leaks.clock), got ${describeValue(value)}`,
    )
  }
  return intOption(name, value, def, testClock ? LEAKS_RANGES.holdThresholdMsTestClock : LEAKS_RANGES.holdThresholdMs)
}

/** Validates `leaks`: an options object, or `false` to turn tracking off (`kit.leaks` then tracks nothing). */
export function resolveLeaks(value: unknown): ResolvedLeaksOptions | false {
  if (value === undefined) return LEAKS_DEFAULTS
  if (value === false) return false
  const o = checkKeys('leaks', value, KEYS)
  if (o.clock !== undefined && o.clock !== null && typeof o.clock !== 'function')
    invalidOption('leaks.clock', 'a function returning milliseconds, or null', o.clock)
  const clock = typeof o.clock === 'function' ? (o.clock as () => number) : null
  return Object.freeze({
    holdThresholdMs: thresholdOption('leaks.holdThresholdMs', o.holdThresholdMs, LEAKS_DEFAULTS.holdThresholdMs, clock !== null),
    maxTracked: intOption('leaks.maxTracked', o.maxTracked, LEAKS_DEFAULTS.maxTracked, LEAKS_RANGES.maxTracked),
    captureStacks: boolOption('leaks.captureStacks', o.captureStacks, LEAKS_DEFAULTS.captureStacks),
    sockets: boolOption('leaks.sockets', o.sockets, LEAKS_DEFAULTS.sockets),
    checkIntervalMs: intOption('leaks.checkIntervalMs', o.checkIntervalMs, LEAKS_DEFAULTS.checkIntervalMs, LEAKS_RANGES.checkIntervalMs),
    clock,
  })
}
