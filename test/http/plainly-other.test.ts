/**
 * The handler's fast path: `plainlyOther` says a target is the app's without canonicalising it.
 * It must never say so of a target that canonicalises into oomkit's territory (that spelling would
 * skip auth and reach the app), so it is checked against canonicalize + territoryOf on the table of
 * spellings and on fuzzed targets built from the characters that matter. And through a real
 * Express app with the adapter mounted: the app's own routes still answer, oomkit's spellings are
 * still oomkit's.
 */
import express from 'express'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { oomkitExpress } from '../../middleware/express.js'
import { createOomkit } from '../../src/index.js'
import { canonicalize, plainlyOther, territoryOf } from '../../src/http/paths.js'
import { prng } from '../helpers/random.js'
import { captureLog } from '../helpers/logs.js'
import { Registry } from 'prom-client'

const truth = (url: string): string => {
  const path = canonicalize(url)
  return path === null ? 'undecodable' : territoryOf(path.canonical)
}

describe('plainlyOther', () => {
  it.each([
    ['/items', true],
    ['/items?id=3', true],
    ['/', true],
    ['/api/debug/memory', true],
    ['/debugger', true],
    ['/metricsx', true],
    ['/metrics2/x', true],
    ['/debug', false],
    ['/debug/memory', false],
    ['/DEBUG/memory', false],
    ['//debug/memory', false],
    ['///Metrics', false],
    ['/metrics', false],
    ['/metrics?x=1', false],
    ['/metrics/x', false],
    ['/%64ebug/memory', false],
    ['/x/../debug/memory', false],
    ['/./debug', false],
    ['/debug\\memory', false],
    ['/.well-known/x', false],
    ['http://host/debug/memory', false],
    ['*', false],
    ['', false],
  ])('%j → %s', (url, expected) => {
    expect(plainlyOther(url)).toBe(expected)
    if (expected) expect(truth(url)).toBe('other')
  })

  it('never claims a target that canonicalises into debug or metrics (fuzzed)', () => {
    const random = prng(13)
    const pieces = ['/', '//', '.', '..', '%', '%2f', '%64', '\\', '?', 'debug', 'DeBuG', 'metrics', 'METRICS', 'memory', 'x', 'items', 'ſ', 'K', 'İ']
    let claimed = 0
    for (let i = 0; i < 20_000; i++) {
      let url = random() < 0.9 ? '/' : ''
      const n = 1 + Math.floor(random() * 6)
      for (let k = 0; k < n; k++) url += pieces[Math.floor(random() * pieces.length)]
      if (!plainlyOther(url)) continue
      claimed++
      expect(truth(url), url).toBe('other')
    }
    // The fast path does take most plain targets: the check above is not vacuous.
    expect(claimed).toBeGreaterThan(1000)
  })
})

describe('the Express adapter with the fast path', () => {
  it("passes the app's routes on and keeps every spelling of oomkit's", async () => {
    const kit = createOomkit({ logger: captureLog().logger, registry: new Registry(), heapProfile: false, lastWords: false, defaultMetrics: false })
    const app = express()
    app.use(oomkitExpress(kit, { token: 't' }))
    app.get('/items', (_req, res) => res.json({ ok: true }))
    app.get('/debugger', (_req, res) => res.json({ app: 'debugger' }))
    kit.start()
    try {
      expect((await request(app).get('/items?id=1')).body).toEqual({ ok: true })
      expect((await request(app).get('/debugger')).body).toEqual({ app: 'debugger' })
      expect((await request(app).get('/DEBUG/memory')).status).toBe(401)
      expect((await request(app).get('//debug/memory')).status).toBe(401)
      expect((await request(app).get('/debug/memory').set('Authorization', 'Bearer t')).status).toBe(200)
      const metrics = await request(app).get('/Metrics')
      expect(metrics.status).toBe(404)
      expect(metrics.body.error).toBe('OOMKIT_NOT_FOUND')
      expect((await request(app).get('/metrics')).text).toContain('oomkit_')
    } finally {
      await kit.stop()
    }
  })
})
