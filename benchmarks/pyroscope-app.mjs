// The Express 5 app for pyroscope.bench.mjs: the same JSON route as heap-profiler-app.mjs, with
// oomkit from dist/ started in it in one of five setups:
//   none              oomkit without any profiling (heapProfile: false): the baseline
//   heap              oomkit's always-on heap profile (its default), no Pyroscope
//   wall              Pyroscope's wall profile through oomkit (pyroscope.heap: false, heapProfile: false)
//   oomkit-pyroscope  oomkit's default heap profile + Pyroscope through oomkit: wall, and heap from the one sampler
//   pyroscope-own     oomkit without profiling + @pyroscope/nodejs's own default setup (init + start: wall + heap)
// Pyroscope setups send to <ingest> at their defaults (60 s flush, 100 Hz wall, 512 KiB heap).
//
//   node benchmarks/pyroscope-app.mjs <mode> <ingest-url>   -> prints { url, mode } once listening
//   GET /__stats -> { cpuUs, rss } (not counted by the load generator)
import { createRequire } from 'node:module'
import express from 'express'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { createOomkit } from '../dist/src/index.js'

const [mode, ingest] = process.argv.slice(2)
const MODES = ['none', 'heap', 'wall', 'oomkit-pyroscope', 'pyroscope-own']
if (!MODES.includes(mode) || ingest === undefined) {
  console.error(`usage: pyroscope-app.mjs <${MODES.join('|')}> <ingest-url>`)
  process.exit(2)
}

const pyroscope = { serverAddress: ingest, appName: `bench-${mode}`, defaultTags: false }
const options = {
  none: { heapProfile: false },
  heap: {},
  wall: { heapProfile: false, pyroscope: { ...pyroscope, heap: false } },
  'oomkit-pyroscope': { pyroscope },
  'pyroscope-own': { heapProfile: false },
}[mode]
const kit = createOomkit({ logger: pino({ level: 'warn' }, pino.destination(2)), registry: new Registry(), logIntervalMs: 0, ...options }).start()
if (mode === 'pyroscope-own') {
  // What its README says to do, nothing more.
  const Pyroscope = createRequire(import.meta.url)('@pyroscope/nodejs')
  Pyroscope.init({ serverAddress: ingest, appName: `bench-${mode}` })
  Pyroscope.start()
}

const app = express()
let served = 0
app.get('/items', function listItems(req, res) {
  served++
  const items = []
  for (let i = 0; i < 20; i++) items.push({ id: served * 20 + i, name: `item-${i}`, tags: ['a', 'b'], price: i * 1.25 })
  res.json({ page: Number(req.query.page ?? 1), items })
})
app.get('/__stats', function stats(_req, res) {
  const cpu = process.cpuUsage()
  res.json({ cpuUs: cpu.user + cpu.system, rss: process.memoryUsage.rss() })
})

const server = app.listen(0, '127.0.0.1', function onListening() {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}`, mode })}\n`)
})
server.keepAliveTimeout = 60_000
process.stdin.on('end', () => void kit.stop().then(() => process.exit(0)))
process.stdin.resume()
