import { OomkitError, describeValue } from '../errors.js'
import { type IntRange, describeRange, inRange } from './ranges.js'

/** Throws the standard invalid-option error: the option, the expected form, what was given. */
export function invalidOption(name: string, expected: string, given: unknown): never {
  throw new OomkitError('OOMKIT_INVALID_OPTION', `Invalid option ${name}: expected ${expected}, got ${describeValue(given)}`)
}

/** Checks an integer option against its range; returns the default when undefined. */
export function intOption(name: string, value: unknown, def: number, range: IntRange): number {
  if (value === undefined) return def
  if (typeof value === 'number' && inRange(value, range)) return value
  // Not a whole number at all: say the whole span; one that falls in the gap below min: say 0 is off.
  const gap = range.zeroOff === true && typeof value === 'number' && Number.isInteger(value) && value > 0 && value < range.min
  invalidOption(name, range.zeroOff === true && !gap ? `an integer from 0 to ${range.max}` : describeRange(range), value)
}

/** Checks a ratio in (min, max] when `minOpen`, else in [min, max]. */
export function ratioOption(name: string, value: unknown, def: number, min: number, max: number, minOpen: boolean): number {
  if (value === undefined) return def
  const expected = `a number ${minOpen ? 'above' : 'from'} ${min} ${minOpen ? 'and up to' : 'to'} ${max}`
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max || (minOpen ? value <= min : value < min)) {
    invalidOption(name, expected, value)
  }
  return value
}

/** Checks a non-empty path string. */
export function stringOption(name: string, value: unknown, def: string): string {
  if (value === undefined) return def
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) invalidOption(name, 'a non-empty path string', value)
  return value
}

/** Checks a boolean option. */
export function boolOption(name: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def
  if (typeof value !== 'boolean') invalidOption(name, 'true or false', value)
  return value
}

/** Rejects anything that is not a plain object, and names the first unknown key. */
export function checkKeys(name: string, value: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  const proto = value === null || typeof value !== 'object' ? undefined : Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) invalidOption(name, 'a plain object', value)
  for (const key of Object.keys(value as object)) {
    if (!known.has(key)) {
      throw new OomkitError(
        'OOMKIT_INVALID_OPTION',
        `Unknown option ${name === 'options' ? key : `${name}.${key}`}: expected one of ${[...known].sort().join(', ')}`,
      )
    }
  }
  return value as Record<string, unknown>
}

/** What a bearer token must be: 1 to 4096 visible ASCII characters (it travels in a header). */
export const TOKEN_FORM = '1 to 4096 visible ASCII characters without spaces'

/** Whether a string can be used as a bearer token. */
export function isValidToken(value: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(value)
}

/** Checks a bearer token option; the message never echoes the token. */
export function tokenOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') invalidOption(name, TOKEN_FORM, value)
  if (!isValidToken(value)) {
    throw new OomkitError('OOMKIT_INVALID_OPTION', `Invalid option ${name}: expected ${TOKEN_FORM}, got a string that is not (its value is not shown)`)
  }
  return value
}
