// One server of overhead.bench.mjs: the demo Express app (examples/express-app.mjs) plus one
// route a service would have, `GET /items`: a cache-aside lookup of a random one of 1,100 items
// in a cache of 1,000 (~91% hits), a miss taking a connection from a generic-pool pool to "load"
// it, and a JSON answer of 20 small records. The side says what is added to the bare app:
//
//   node benchmarks/overhead-app.mjs <side> [ingest-url]   -> prints {"ready":true,url,side,pid}
//
// bare and bare-copy have no oomkit (a plain lru-cache and an untracked pool: what an app has
// without it); oomkit's sides are createOomkit at its defaults (prom-client's default registry and
// default metrics, pino on stdout, every capability on) started, with the Express adapter mounted
// (token given), the pool tracked (`kit.leaks.trackPool`) and the cache `kit.cache()`, each
// `no-*` side turning one component off (SIDES below); the peers are the bare app plus
// express-prom-bundle with prom-client's default metrics, or @pyroscope/nodejs (wall + heap, its
// README's setup) uploading to ingest-url (nothing is uploaded in a run this short: 60 s flush).
// The server ends when stdin ends.
import { createRequire } from 'node:module'
import genericPool from 'generic-pool'
import { LRUCache } from 'lru-cache'
import { DEFAULTS } from 'oomkit'
import { createDemoApp } from '../examples/express-app.mjs'

/** Options of createOomkit per oomkit side (undefined: the side has no oomkit), and what else the side changes. */
export const SIDES = {
  bare: { oomkit: undefined },
  'bare-copy': { oomkit: undefined },
  defaults: { oomkit: {} },
  'no-heap-profile': { oomkit: { heapProfile: false } },
  'no-snapshot': { oomkit: { snapshot: false } },
  'no-trend': { oomkit: { trend: false } },
  'no-last-words': { oomkit: { lastWords: false } },
  'no-leaks': { oomkit: { leaks: false }, trackPool: false },
  'no-stacks': { oomkit: { leaks: { captureStacks: false } } },
  'no-pool-tracking': { oomkit: {}, trackPool: false },
  'no-cache': { oomkit: {}, kitCache: false },
  'no-logs': { oomkit: { logIntervalMs: 0 } },
  'no-default-metrics': { oomkit: { defaultMetrics: false } },
  'no-adapter': { oomkit: {}, adapter: false },
  'slow-sampler': { oomkit: { sampleIntervalMs: 3_600_000 } },
  'prom-bundle': { oomkit: undefined, peer: 'prom-bundle' },
  pyroscope: { oomkit: undefined, peer: 'pyroscope' },
}

const KEYS = 1100
const CACHE_MAX = 1000

const [side, ingest = 'http://127.0.0.1:9'] = process.argv.slice(2)
const config = SIDES[side]
if (config === undefined) {
  console.error(`usage: overhead-app.mjs <${Object.keys(SIDES).join('|')}> [ingest-url]`)
  process.exit(2)
}
const withKit = config.oomkit !== undefined
const require = createRequire(import.meta.url)

if (config.peer === 'pyroscope') {
  // What its README says to do, nothing more: init and start (wall and heap).
  const Pyroscope = require('@pyroscope/nodejs')
  Pyroscope.init({ serverAddress: ingest, appName: 'overhead-bench' })
  Pyroscope.start()
}

// oomkit's own defaults, not the demo's faster sampling (createDemoApp spreads these over its own).
const atDefaults = { sampleIntervalMs: DEFAULTS.sampleIntervalMs, logIntervalMs: DEFAULTS.logIntervalMs }
const { app: demo, kit } = createDemoApp({
  oomkit: withKit ? { ...atDefaults, ...config.oomkit } : false,
  ...(config.adapter === false ? {} : { token: 'bench-token' }),
})
kit?.start()

const pool = genericPool.createPool(
  {
    create: async () => ({
      load: (id) => ({ id, name: `item-${id}`, records: Array.from({ length: 20 }, (_v, i) => ({ i, tag: `t${i % 5}`, price: i * 1.25 })) }),
    }),
    destroy: async () => {},
  },
  { max: 10, min: 2 },
)
if (withKit && config.trackPool !== false) kit.leaks.trackPool(pool, { name: 'items' })
const cache = withKit && config.kitCache !== false ? kit.cache('items', { max: CACHE_MAX }) : new LRUCache({ max: CACHE_MAX })

// The peer's middleware goes first, as its README says (only routes after it are measured).
let app = demo
if (config.peer === 'prom-bundle') {
  const express = (await import('express')).default
  const promBundle = require('express-prom-bundle')
  app = express()
  app.use(promBundle({ includeMethod: true, includePath: true, promClient: { collectDefaultMetrics: {} } }))
  app.use(demo)
}

demo.get('/items', async function getItem(_req, res) {
  const key = `item:${(Math.random() * KEYS) | 0}`
  let item = cache.get(key)
  if (item === undefined) {
    const conn = await pool.acquire()
    try {
      item = conn.load(key)
    } finally {
      await pool.release(conn)
    }
    cache.set(key, item)
  }
  res.json(item)
})

const server = app.listen(0, '127.0.0.1', function onListening() {
  process.stdout.write(
    `${JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.address().port}/items`, side, pid: process.pid, oomkit: kit !== null })}\n`,
  )
})
server.keepAliveTimeout = 60_000
process.stdin.on('end', async function shutdown() {
  server.close()
  server.closeAllConnections?.()
  await kit?.stop()
  await pool.drain()
  await pool.clear()
  process.exit(0)
})
process.stdin.resume()
