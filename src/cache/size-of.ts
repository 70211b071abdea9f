/**
 * What a cached value costs in bytes, at a bounded price. Strings, Buffers, typed arrays and
 * ArrayBuffers are measured exactly; objects, arrays, Maps and Sets are estimated by walking at
 * most {@link MAX_WALK_NODES} values and extrapolating the rest. The costs are those of V8 on
 * 64-bit Node without pointer compression (Node's default build), measured on Node 20.
 */

/** Most values (properties, elements, entries) one estimate looks at; the rest is extrapolated. */
export const MAX_WALK_NODES = 256

/**
 * What every entry costs besides its value's and key's contents: lru-cache's own slots (45–82
 * bytes per entry measured on Node 20: 45 with `max`, 82 without) and the 16-byte headers of a
 * string key and a string value.
 */
export const ENTRY_OVERHEAD_BYTES = 112

/** An object's header (map, properties, elements) and each of its property slots. */
const OBJECT_BYTES = 24
const SLOT_BYTES = 8
/** A JSArray and its backing store's headers. */
const ARRAY_BYTES = 32
/** A Map or Set and its hash table's headers; each entry's share of the table. */
const COLLECTION_BYTES = 64
const MAP_ENTRY_BYTES = 32
const SET_ENTRY_BYTES = 24
/** A string's header, when the string is inside another value. */
const STRING_HEADER_BYTES = 16
/** A heap number (a double that does not fit a small integer). */
const HEAP_NUMBER_BYTES = 16
/** What a value the walk does not enter costs: functions, promises, weak collections, views' headers. */
const OPAQUE_BYTES = 64

// A one-byte V8 string cannot match this, and V8 decides that without scanning the string.
// NUL is Latin-1 too: the class must start at U+0000.
// eslint-disable-next-line no-control-regex
const TWO_BYTE = /[^\u0000-\u00ff]/

/**
 * A string's payload as V8 stores it: one byte per character when every character is Latin-1,
 * two otherwise. Exact for flat strings; a sliced string (a long `substring` of a bigger one)
 * really keeps its whole parent alive, which no size function can see.
 */
export function stringBytes(s: string): number {
  return TWO_BYTE.test(s) ? 2 * s.length : s.length
}

/**
 * The bytes a value holds: exact for strings ({@link stringBytes}), Buffers, typed arrays,
 * DataViews and ArrayBuffers (their `byteLength`); 8 for a number or a bigint digit; an estimate
 * for objects, arrays, Maps and Sets that never looks at more than {@link MAX_WALK_NODES} values
 * (see {@link estimateObjectBytes}).
 *
 * @example
 * estimateBytes('héllo')              // 5: Latin-1, one byte per character
 * estimateBytes(Buffer.alloc(1024))   // 1024
 * estimateBytes({ id: 1, name: 'a' }) // 24 + 2 slots + the string
 */
export function estimateBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringBytes(value)
    case 'number':
      return 8
    case 'bigint':
      return 8 * Math.max(1, Math.ceil(bigintBits(value) / 64))
    case 'boolean':
    case 'undefined':
    case 'symbol':
      return 0
    case 'function':
      return OPAQUE_BYTES
    default:
      if (value === null) return 0
      if (ArrayBuffer.isView(value)) return value.byteLength
      if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) return value.byteLength
      return estimateObjectBytes(value as object)
  }
}

function bigintBits(n: bigint): number {
  return (n < 0n ? -n : n).toString(16).length * 4
}

/** What a value costs inside another one: its slot is counted by its container. */
function leafBytes(value: unknown): number | null {
  switch (typeof value) {
    case 'string':
      return STRING_HEADER_BYTES + stringBytes(value)
    case 'number':
      return Number.isInteger(value) && value >= -0x40000000 && value < 0x40000000 ? 0 : HEAP_NUMBER_BYTES
    case 'bigint':
      return 16 + estimateBytes(value)
    case 'function':
      return OPAQUE_BYTES
    case 'object':
      if (value === null) return 0
      if (ArrayBuffer.isView(value)) return OPAQUE_BYTES + value.byteLength
      if (value instanceof ArrayBuffer) return OPAQUE_BYTES + value.byteLength
      if (value instanceof Date) return OBJECT_BYTES + SLOT_BYTES
      if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) return OPAQUE_BYTES
      return null // an object to walk
    default:
      return 0
  }
}

/**
 * Estimates an object graph by sampling, depth first, within a budget of {@link MAX_WALK_NODES}
 * values. Each object costs its header and a slot per own enumerable property (arrays: a slot
 * per element; Maps and Sets: a share of their hash table per entry); strings their header and
 * payload; numbers that are not small integers a heap number. Shared and cyclic references count
 * once. A container with more children than its share of the budget measures the first one,
 * then as many evenly spaced others as that one's cost leaves room for (Maps and Sets: the first
 * ones, in insertion order), and counts the children it skipped at the average of those it
 * measured: an array of a million similar records costs 256 steps and comes out near its real
 * size. An object's own keys are listed once (`Object.keys`), so an object used as a dictionary
 * of a million keys pays that listing; use a Map for those.
 */
export function estimateObjectBytes(root: object): number {
  const walk: Walk = { used: 1, seen: new Set([root]) }
  return containerBytes(root, MAX_WALK_NODES - 1, walk)
}

interface Walk {
  used: number
  readonly seen: Set<object>
}

/** One value within `budget` (at least 1) steps. */
function valueBytes(value: unknown, budget: number, walk: Walk): number {
  walk.used++
  const leaf = leafBytes(value)
  if (leaf !== null) return leaf
  const o = value as object
  if (walk.seen.has(o)) return 0
  walk.seen.add(o)
  return containerBytes(o, budget - 1, walk)
}

/** A container's own bytes and its children's, sampled within `budget` steps. */
function containerBytes(node: object, budget: number, walk: Walk): number {
  const children = childrenOf(node)
  const { count } = children
  const own = ownBytes(node, count)
  if (count === 0 || budget <= 0) return own
  const start = walk.used
  const probe = Math.max(1, Math.floor(budget / Math.min(count, 8)))
  let sum = children.measure(0, probe, walk)
  const perChild = Math.max(1, walk.used - start)
  const samples = Math.min(count, 1 + Math.floor((budget - perChild) / perChild))
  let measured = 1
  for (let j = 1; j < samples; j++) {
    const left = budget - (walk.used - start)
    if (left <= 0) break
    // Evenly spaced over the rest: a homogeneous array is read across its whole length.
    const index = children.sequential ? j : 1 + Math.floor(((j - 1) * (count - 1)) / (samples - 1))
    sum += children.measure(index, Math.max(1, Math.floor(left / (samples - j))), walk)
    measured++
  }
  return Math.round(own + (measured === count ? sum : (sum * count) / measured))
}

interface Children {
  readonly count: number
  /** Only the first ones can be reached cheaply (a Map's or a Set's, in insertion order). */
  readonly sequential: boolean
  /** The bytes of child `index` (of the next one, when sequential) within `budget` steps. */
  measure(index: number, budget: number, walk: Walk): number
}

function childrenOf(node: object): Children {
  if (Array.isArray(node)) return { count: node.length, sequential: false, measure: (i, b, w) => valueBytes(node[i], b, w) }
  if (node instanceof Map) {
    const it = node.entries()
    return {
      count: node.size,
      sequential: true,
      measure(_i, b, w) {
        const [k, v] = it.next().value as [unknown, unknown]
        // One step left: the value, and the key only when it is a leaf (it usually is).
        if (b < 2) return valueBytes(v, 1, w) + (leafBytes(k) ?? 0)
        const half = Math.floor(b / 2)
        return valueBytes(k, half, w) + valueBytes(v, b - half, w)
      },
    }
  }
  if (node instanceof Set) {
    const it = node.values()
    return { count: node.size, sequential: true, measure: (_i, b, w) => valueBytes(it.next().value, b, w) }
  }
  const keys = Object.keys(node)
  return { count: keys.length, sequential: false, measure: (i, b, w) => valueBytes((node as Record<string, unknown>)[keys[i] as string], b, w) }
}

function ownBytes(node: object, count: number): number {
  if (Array.isArray(node)) return ARRAY_BYTES + SLOT_BYTES * count
  if (node instanceof Map) return COLLECTION_BYTES + MAP_ENTRY_BYTES * count
  if (node instanceof Set) return COLLECTION_BYTES + SET_ENTRY_BYTES * count
  return OBJECT_BYTES + SLOT_BYTES * count
}

/** The bytes a key holds in the cache (a string's payload, 8 for anything else: a number, an object's reference). */
export function keyBytes(key: unknown): number {
  return typeof key === 'string' ? key.length : 8
}

/**
 * The default `sizeOf` of a cache entry: the value ({@link estimateBytes}), the key
 * ({@link keyBytes}) and {@link ENTRY_OVERHEAD_BYTES}.
 */
export function defaultSizeOf(value: unknown, key: unknown): number {
  return estimateBytes(value) + keyBytes(key) + ENTRY_OVERHEAD_BYTES
}

/**
 * The bytes of `count` entries from the sizes of the first `limit` of them (a cache bounded by
 * entries only measures nothing on set): their sum × count / measured. An entry whose size is
 * not a finite number of 0 or more is skipped (and still counts toward `limit`).
 */
export function sampleBytes<K, V>(entries: Iterable<[K, V]>, count: number, sizeOf: (value: V, key: K) => number, limit: number): number {
  if (count === 0) return 0
  let sum = 0
  let measured = 0
  let seen = 0
  for (const [key, value] of entries) {
    const size = sizeOf(value, key)
    if (typeof size === 'number' && size >= 0 && size !== Infinity) {
      sum += size < 1 ? 1 : Math.ceil(size)
      measured++
    }
    if (++seen >= limit) break
  }
  if (measured === 0) return 0
  return measured === count ? sum : Math.round((sum / measured) * count)
}
