// The demo service: an Express 5 app with two routes that leak on purpose, one bounded route for
// contrast, and oomkit watching it all. Run it with `npm run demo`; in Kubernetes, see
// examples/kubernetes/.
import { hostname } from 'node:os'
import express from 'express'
import { LRUCache } from 'lru-cache'
import { createOomkit } from 'oomkit'
import { oomkitExpress } from 'oomkit/express'
import { pino } from 'pino'

/**
 * The base fields of every log line: pino's own, plus the pod and namespace when the downward API
 * sets `POD_NAME` and `POD_NAMESPACE` (examples/kubernetes/deployment.yaml), so that a line read
 * from a log store says which replica wrote it.
 * @param {NodeJS.ProcessEnv} env
 */
export function logBase(env = process.env) {
  const base = { pid: process.pid, hostname: hostname() }
  if (env.POD_NAME) base.pod = env.POD_NAME
  if (env.POD_NAMESPACE) base.namespace = env.POD_NAMESPACE
  return base
}

/**
 * Builds the app and its oomkit instance. Nothing listens until the caller says so.
 * @param {{ token?: string, metricsToken?: string, oomkit?: import('oomkit').OomkitOptions | false }} [options]
 *   `oomkit`: more options for createOomkit (the demo passes what `readEnv()` read from `OOMKIT_*`);
 *   `false` builds the same app without oomkit (`kit` is null): the bare app that
 *   benchmarks/overhead.bench.mjs compares against.
 */
export function createDemoApp(options = {}) {
  const kit =
    options.oomkit === false
      ? null
      : createOomkit({ sampleIntervalMs: 2000, logIntervalMs: 30_000, logger: pino({ name: 'oomkit-demo', base: logBase() }), ...options.oomkit })
  const app = express()

  // For the kubelet's probes: answers as long as the event loop runs (examples/kubernetes/deployment.yaml).
  app.get('/healthz', function healthz(_req, res) {
    res.type('text/plain').send('ok\n')
  })

  // Leak 1: the classic "cache = {}" keyed by something unbounded (here: the query string).
  const cache = {}
  app.get('/leak/cache', function leakCache(req, res) {
    const n = Math.min(Number(req.query.n ?? 1000) || 1000, 100_000)
    for (let i = 0; i < n; i++) {
      const key = `${Date.now()}-${Math.random()}`
      cache[key] = { key, user: `user-${i}`, payload: 'x'.repeat(256), at: new Date() }
    }
    res.json({ leaked: n, entries: Object.keys(cache).length })
  })

  // Leak 2: a module-level array that only ever grows (an "audit log" nobody trims).
  const history = []
  app.get('/leak/array', function leakArray(req, res) {
    const n = Math.min(Number(req.query.n ?? 1000) || 1000, 100_000)
    for (let i = 0; i < n; i++) history.push({ i, path: req.path, headers: { ...req.headers }, at: Date.now() })
    res.json({ leaked: n, length: history.length })
  })

  // The fix, for contrast: the same cache, bounded by entries and bytes.
  const bounded = new LRUCache({ max: 10_000, maxSize: 16 * 1024 * 1024, sizeCalculation: (v) => v.payload.length + 64 })
  app.get('/bounded', function boundedCache(req, res) {
    const n = Math.min(Number(req.query.n ?? 1000) || 1000, 100_000)
    for (let i = 0; i < n; i++) {
      const key = `${Date.now()}-${Math.random()}`
      bounded.set(key, { key, user: `user-${i}`, payload: 'x'.repeat(256), at: new Date() })
    }
    res.json({ stored: n, entries: bounded.size })
  })

  // oomkit on the app's own port: /metrics (open unless metricsToken, what Prometheus scrapes in
  // Kubernetes) and /debug/* behind the token; the loopback server on 9469 needs no token.
  if (kit !== null && options.token !== undefined) {
    const mount = { token: options.token }
    if (options.metricsToken !== undefined) mount.metricsToken = options.metricsToken
    app.use(oomkitExpress(kit, mount))
  }

  app.get('/', (_req, res) => {
    res.json({ routes: ['/leak/cache?n=1000', '/leak/array?n=1000', '/bounded?n=1000', '/healthz'] })
  })
  return { app, kit, sizes: () => ({ cache: Object.keys(cache).length, history: history.length, bounded: bounded.size }) }
}
