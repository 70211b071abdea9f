// The load generator of overhead.bench.mjs: one long-lived process (on its own CPU) that runs
// autocannon when asked, so no run pays autocannon's start-up. One JSON line in per run, one out:
//
//   in:  {"url":"http://127.0.0.1:PORT/items","connections":50,"warmupMs":1000,"durationMs":2000}
//   out: {"requests":N,"rps":R,"p50Ms":..,"p99Ms":..,"errors":E,"non2xx":X,"seconds":S}
//
// The warm-up is a separate autocannon run whose numbers are dropped. Latencies are recorded here
// from autocannon's `response` events, in fractional ms (its own histogram keeps whole ms, too
// coarse for a 5 % bound at a few ms per request).
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { quantileSorted } from './lib.mjs'

const autocannon = createRequire(import.meta.url)('autocannon')

function run(url, connections, durationMs, record) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16)
    let n = 0
    const started = process.hrtime.bigint()
    const instance = autocannon({ url, connections, duration: durationMs / 1000, renderProgressBar: false, renderResultsTable: false }, (err, result) => {
      if (err) return reject(err)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const sorted = latencies.subarray(0, n).sort()
      resolve({
        requests: n,
        rps: n / seconds,
        p50Ms: quantileSorted(sorted, 0.5),
        p99Ms: quantileSorted(sorted, 0.99),
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        seconds,
      })
    })
    if (record) {
      instance.on('response', (_client, statusCode, _bytes, ms) => {
        if (statusCode < 200 || statusCode >= 300) return
        if (n === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2)
          bigger.set(latencies)
          latencies = bigger
        }
        latencies[n++] = ms
      })
    }
  })
}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const { url, connections, warmupMs, durationMs } = JSON.parse(line)
  try {
    if (warmupMs > 0) await run(url, connections, warmupMs, false)
    process.stdout.write(`${JSON.stringify(await run(url, connections, durationMs, true))}\n`)
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`)
  }
}
