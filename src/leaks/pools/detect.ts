import { createRequire } from 'node:module'
import { join } from 'node:path'
import { OomkitError } from '../../errors.js'
import type { PoolKind } from './common.js'

/** What `trackPool` accepts, for the error message. */
export const SUPPORTED_POOLS = 'a pg.Pool (pg 8), a mysql2 pool (createPool, callback or promise API) or a generic-pool Pool (generic-pool 3)'

const resolvers = [createRequire(join(process.cwd(), 'noop.js')), createRequire(import.meta.url)]
const loaded = new Map<string, unknown>()

/**
 * The app's copy of an optional peer (`pg`, `mysql2`, `generic-pool`), loaded on first use only,
 * or null when it cannot be resolved from the app's directory or oomkit's. Never throws.
 */
export function loadPeer(name: string): unknown {
  if (loaded.has(name)) return loaded.get(name)
  let found: unknown = null
  for (const req of resolvers) {
    try {
      found = req(name)
      break
    } catch {
      // not resolvable from here: try the next place, or stay null
    }
  }
  loaded.set(name, found)
  return found
}

type Obj = Record<string, unknown>

function constructorNames(value: object): string[] {
  const names: string[] = []
  for (let p = Object.getPrototypeOf(value) as Obj | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as Obj | null) {
    const ctor = p.constructor as { name?: unknown } | undefined
    if (typeof ctor?.name === 'string') names.push(ctor.name)
  }
  return names
}

function fns(o: Obj, ...names: string[]): boolean {
  return names.every((n) => typeof o[n] === 'function')
}

function nums(o: Obj, ...names: string[]): boolean {
  return names.every((n) => typeof o[n] === 'number')
}

/** Whether `value` is an instance of the peer's export `key` (when the peer is installed). */
function instanceOfPeer(value: object, peer: string, key: string): boolean {
  const mod = loadPeer(peer) as Obj | null
  const ctor = mod?.[key]
  return typeof ctor === 'function' && value instanceof (ctor as new (...a: never[]) => unknown)
}

/**
 * Which library a pool comes from: by its members (duck typing) and its constructor's name, and
 * by `instanceof` against the installed peer when there is one (a second copy of the library in
 * the app still passes on the first two). For mysql2, the core pool behind a promise pool.
 */
export function detectPool(pool: unknown): { kind: PoolKind; target: object } {
  if (pool !== null && typeof pool === 'object') {
    const o = pool as Obj
    const names = constructorNames(pool)
    if (
      fns(o, 'connect', 'query', 'on', 'end') &&
      nums(o, 'totalCount', 'idleCount', 'waitingCount') &&
      (names.includes('Pool') || names.includes('BoundPool') || instanceOfPeer(pool, 'pg', 'Pool'))
    ) {
      return { kind: 'pg', target: pool }
    }
    const core = names.includes('PromisePool') && o.pool !== null && typeof o.pool === 'object' ? (o.pool as Obj) : o
    if (fns(core, 'getConnection', 'releaseConnection', 'query', 'end') && isMysql2Core(core)) {
      return { kind: 'mysql2', target: core }
    }
    if (
      fns(o, 'acquire', 'release', 'destroy', 'drain', 'clear') &&
      nums(o, 'size', 'available', 'borrowed', 'pending', 'max') &&
      (names.includes('Pool') || instanceOfPeer(pool, 'generic-pool', 'Pool'))
    ) {
      return { kind: 'generic-pool', target: pool }
    }
  }
  const what = pool === null ? 'null' : typeof pool !== 'object' ? typeof pool : `an object of class ${constructorNames(pool)[0] ?? 'Object'}`
  throw new OomkitError('OOMKIT_UNSUPPORTED_POOL', `kit.leaks.trackPool: unsupported pool (${what}): expected ${SUPPORTED_POOLS}`)
}

function isMysql2Core(core: Obj): boolean {
  const config = core.config as Obj | undefined
  const names = constructorNames(core)
  return (
    typeof config === 'object' &&
    config !== null &&
    'connectionLimit' in config &&
    core._allConnections !== undefined &&
    (names.includes('Pool') || instanceOfPeer(core, 'mysql2', 'Pool'))
  )
}
