// The Express 5 app for heap-profiler.bench.mjs: one JSON route that allocates a little per
// request, with oomkit from dist/ started in it. `on` keeps the sampling heap profiler at its
// default (512 KiB); `off` is the same app and the same oomkit with `heapProfile: false`.
//
//   node benchmarks/heap-profiler-app.mjs on|off    -> prints { url, profiler } once listening
import express from 'express'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { createOomkit } from '../dist/src/index.js'

const mode = process.argv[2]
if (mode !== 'on' && mode !== 'off') {
  console.error('usage: heap-profiler-app.mjs on|off')
  process.exit(2)
}

const kit = createOomkit({
  logger: pino({ level: 'warn' }, pino.destination(2)),
  registry: new Registry(),
  logIntervalMs: 0,
  ...(mode === 'off' ? { heapProfile: false } : {}),
}).start()

const app = express()
let served = 0
app.get('/items', function listItems(req, res) {
  served++
  const items = []
  for (let i = 0; i < 20; i++) items.push({ id: served * 20 + i, name: `item-${i}`, tags: ['a', 'b'], price: i * 1.25 })
  res.json({ page: Number(req.query.page ?? 1), items })
})

const server = app.listen(0, '127.0.0.1', function onListening() {
  const { port } = server.address()
  const profile = kit.report().profile
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${port}/items`, profiler: profile === null ? 'off' : `${profile.backend} ${profile.intervalBytes}` })}\n`,
  )
})
server.keepAliveTimeout = 60_000
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
