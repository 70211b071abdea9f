import { OomkitError, describeValue } from '../errors.js'

/** Deepest nesting the default memoize key serialises (arrays and plain objects). */
export const MAX_KEY_DEPTH = 8
/** Longest serialised key, in characters: a longer one is an error rather than a huge key held in the cache. */
export const MAX_KEY_LENGTH = 4096

// Serialised keys start with this; a lone string argument that does too is serialised, so the
// two kinds of key never meet.
const MARK = '\u0000'

/** Why the default key cannot key a call: the argument's position and what it is. */
class Unkeyable extends Error {}

/**
 * The default key of a memoized call. A single string, number, boolean, bigint or symbol
 * argument is the key itself (`f(1)` and `f('1')` stay apart; `-0` is `0`, NaN is NaN). Anything
 * else is serialised, stably: no arguments, several, `null`, `undefined`, arrays, plain objects
 * (keys sorted, so `{a, b}` and `{b, a}` are one key) and Dates (by their time), at most
 * {@link MAX_KEY_DEPTH} levels deep and {@link MAX_KEY_LENGTH} characters long. Functions,
 * symbols inside a serialised key, class instances, Maps, Sets, Buffers, typed arrays and cycles
 * cannot be keyed: the call throws `OOMKIT_UNKEYABLE_ARGUMENTS` naming the argument; pass
 * `options.key` for those.
 *
 * @param name the memoized cache's name, for the error.
 */
export function defaultKey(name: string, args: readonly unknown[]): unknown {
  if (args.length === 1) {
    const only = args[0]
    switch (typeof only) {
      case 'string':
        if (!only.startsWith(MARK)) return only
        break
      case 'number':
        return only === 0 ? 0 : only
      case 'boolean':
      case 'bigint':
      case 'symbol':
        return only
    }
  }
  let out = MARK
  try {
    for (let i = 0; i < args.length; i++) {
      if (i > 0) out += ','
      out = serialise(args[i], 0, out, i)
    }
  } catch (err) {
    if (!(err instanceof Unkeyable)) throw err
    throw new OomkitError(
      'OOMKIT_UNKEYABLE_ARGUMENTS',
      `memoize(${JSON.stringify(name)}) cannot key ${err.message}: the default key takes strings, numbers, booleans, bigints, null, undefined, Dates, and arrays and plain objects of those, up to ${MAX_KEY_DEPTH} levels and ${MAX_KEY_LENGTH} characters; pass options.key`,
    )
  }
  return out
}

function serialise(value: unknown, depth: number, out: string, arg: number): string {
  if (out.length > MAX_KEY_LENGTH) throw new Unkeyable(`argument ${arg} (the key would be longer than ${MAX_KEY_LENGTH} characters)`)
  switch (typeof value) {
    case 'string':
      return out + JSON.stringify(value)
    case 'number':
      return out + (value === 0 ? '0' : String(value))
    case 'boolean':
      return out + (value ? 'T' : 'F')
    case 'bigint':
      return `${out}${value}n`
    case 'undefined':
      return `${out}U`
    case 'object':
      break
    default:
      throw new Unkeyable(`argument ${arg} (${typeof value === 'symbol' ? 'a symbol' : describeValue(value)})`)
  }
  if (value === null) return `${out}N`
  if (depth >= MAX_KEY_DEPTH) throw new Unkeyable(`argument ${arg} (nested deeper than ${MAX_KEY_DEPTH} levels, or circular)`)
  if (Array.isArray(value)) {
    out += '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      out = serialise(value[i], depth + 1, out, arg)
    }
    return `${out}]`
  }
  if (value instanceof Date) return `${out}D${value.getTime()}`
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) {
    const kind = (value as { constructor?: { name?: string } }).constructor?.name
    throw new Unkeyable(`argument ${arg} (${kind ? `a ${kind}` : 'an object that is not plain'})`)
  }
  out += '{'
  const keys = Object.keys(value).sort()
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string
    out += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:`
    out = serialise((value as Record<string, unknown>)[k], depth + 1, out, arg)
  }
  return `${out}}`
}
