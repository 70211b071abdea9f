// A tiny keep-alive HTTP load generator for heap-profiler.bench.mjs: `connections` requests in
// flight on kept-alive sockets for `durationMs` after a `warmupMs` that is not counted.
//
//   node benchmarks/heap-profiler-load.mjs <url> <durationMs> <connections> [warmupMs]
//   -> prints { requests, errors, seconds, rps }
import http from 'node:http'

const [url, durationArg, connectionsArg, warmupArg] = process.argv.slice(2)
if (url === undefined) {
  console.error('usage: heap-profiler-load.mjs <url> <durationMs> <connections> [warmupMs]')
  process.exit(2)
}
const durationMs = Number(durationArg ?? 3000)
const connections = Number(connectionsArg ?? 50)
const warmupMs = Number(warmupArg ?? 500)
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })

let counting = false
let stopped = false
let requests = 0
let errors = 0

function loop() {
  if (stopped) return
  const req = http.get(url, { agent }, function onResponse(res) {
    res.on('data', () => {})
    res.on('end', function onEnd() {
      if (counting && !stopped) {
        if (res.statusCode === 200) requests++
        else errors++
      }
      loop()
    })
  })
  req.on('error', function onError() {
    if (counting) errors++
    setTimeout(loop, 10)
  })
}

for (let i = 0; i < connections; i++) loop()
setTimeout(() => {
  counting = true
  const start = process.hrtime.bigint()
  setTimeout(() => {
    stopped = true
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    process.stdout.write(`${JSON.stringify({ requests, errors, seconds, rps: requests / seconds })}\n`)
    agent.destroy()
    process.exit(0)
  }, durationMs)
}, warmupMs)
