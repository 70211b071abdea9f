import { EventEmitter } from 'node:events'
import genericPool from 'generic-pool'
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { OomkitError } from '../../../src/index.js'
import { SUPPORTED_POOLS, detectPool, loadPeer } from '../../../src/leaks/index.js'

// Which library a pool comes from, without connecting anything: duck typing and the constructor,
// confirmed against the installed peer.

describe('detectPool', () => {
  it('knows pg.Pool, mysql2 pools (callback, promise: its core) and generic-pool', async () => {
    const pgPool = new pg.Pool({ max: 1 })
    expect(detectPool(pgPool)).toEqual({ kind: 'pg', target: pgPool })
    const core = mysql.createPool({ host: '127.0.0.1', connectionLimit: 1 })
    expect(detectPool(core)).toEqual({ kind: 'mysql2', target: core })
    const promised = mysqlPromise.createPool({ host: '127.0.0.1', connectionLimit: 1 })
    expect(detectPool(promised)).toEqual({ kind: 'mysql2', target: promised.pool })
    expect(detectPool(core.promise())).toEqual({ kind: 'mysql2', target: core })
    const gp = genericPool.createPool({ create: async () => ({}), destroy: async () => {} }, { max: 1 })
    expect(detectPool(gp)).toEqual({ kind: 'generic-pool', target: gp })
    await Promise.all([pgPool.end(), promised.end(), new Promise((r) => core.end(r)), gp.drain().then(() => gp.clear())])
  })

  it('refuses anything else with OOMKIT_UNSUPPORTED_POOL naming what is supported', () => {
    class KnexPool extends EventEmitter {
      acquire(): void {}
    }
    for (const [value, what] of [
      [new KnexPool(), 'an object of class KnexPool'],
      [{ connect() {}, query() {} }, 'an object of class Object'],
      [null, 'null'],
      ['pg', 'string'],
    ] as const) {
      let error: unknown
      try {
        detectPool(value)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(OomkitError)
      expect(error).toMatchObject({ code: 'OOMKIT_UNSUPPORTED_POOL', message: `kit.leaks.trackPool: unsupported pool (${what}): expected ${SUPPORTED_POOLS}` })
    }
    expect(SUPPORTED_POOLS).toMatch(/pg\.Pool.*mysql2.*generic-pool/)
  })

  it('loads a peer only when asked, once, and gives null for one that is not installed', () => {
    expect(loadPeer('pg')).toBe(pg)
    expect(loadPeer('pg')).toBe(loadPeer('pg'))
    expect(loadPeer('no-such-pool-library-oomkit')).toBeNull()
  })
})
