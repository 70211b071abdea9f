// `npm run demo`: starts the Express example on :3000 with oomkit's debug server on
// 127.0.0.1:9469, prints what to try, and every few seconds what oomkit sees.
//
// Configured by the environment (examples/kubernetes/deployment.yaml sets these):
//   PORT, HOST            the app's port and address (3000, 127.0.0.1; 0.0.0.0 in a pod)
//   OOMKIT_TOKEN          bearer token for /debug/* on the app's port (else DEMO_TOKEN, else a demo one)
//   OOMKIT_METRICS_TOKEN  bearer token for /metrics on the app's port (default: open)
//   OOMKIT_PORT           the loopback debug server's port (9469; 0 picks one); it always listens
//                         on 127.0.0.1, without a token (kubectl port-forward reaches it)
//   OOMKIT_DIAGNOSTICS_DIR, OOMKIT_SAMPLE_INTERVAL, ...  the other OOMKIT_* variables, as oomkit/register reads them
//   POD_NAME, POD_NAMESPACE  added to every log line
import { readEnv } from 'oomkit'
import { createDemoApp } from './express-app.mjs'

const env = readEnv()
const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST || '127.0.0.1'
const token = env.listen.token ?? process.env.DEMO_TOKEN ?? 'demo-token-change-me'
const { app, kit } = createDemoApp({ token, metricsToken: env.listen.metricsToken, oomkit: env.options })

kit.start()
const server = app.listen(port, host)
await new Promise((resolve, reject) => {
  server.once('listening', resolve)
  server.once('error', reject)
})
let debugServer = null
try {
  // Loopback and no token: the debug routes answer here without one (never on another address).
  debugServer = await kit.listen({ port: env.listen.port, host: '127.0.0.1' })
} catch (err) {
  console.error(`oomkit's debug server could not start (${err.message}); the app runs on without it.`)
}

const appPort = server.address().port
const oomkitPort = debugServer?.address.port ?? env.listen.port
const app_ = `http://127.0.0.1:${appPort}`
const dbg = `http://127.0.0.1:${oomkitPort}`
kit.logger.info({ app: `http://${host}:${appPort}`, debug: debugServer?.url ?? null, appPort, debugPort: debugServer?.address.port ?? null }, 'demo listening')
console.log(`
oomkit demo
  app:          ${app_}
  oomkit:       ${dbg}  (loopback: no token needed)
  on app port:  ${app_}/debug/memory with "Authorization: Bearer ${token}"

Try:
  curl -s ${dbg}/debug/memory | head -c 600; echo          # the memory report (JSON)
  open ${dbg}/debug/memory in a browser                  # the memory page: charts, trend, budget, in words
  curl -s ${dbg}/metrics | grep ^oomkit_                      # Prometheus metrics
  curl -s -H 'Authorization: Bearer ${token}' ${app_}/debug/memory | head -c 300; echo
  curl -s ${app_}/debug/memory                            # 401: the app port needs the token
  curl -s '${dbg}/debug/memory/top?limit=5'; echo           # where the live memory was allocated
  curl -s -o heap.pb.gz ${dbg}/debug/pprof/heap             # pprof: go tool pprof -top heap.pb.gz
  curl -sI ${dbg}/debug/heap                                # would a heap snapshot be safe now?
  curl -s ${dbg}/debug/memory | jq .trend                   # growth, leak suspicion, time to the limit
  curl -s '${dbg}/debug/memory/top?growth=1&limit=5'; echo  # the allocation sites that grow

Make it leak, then look again (a steady leak is suspected within a few minutes):
  while sleep 1; do curl -s '${app_}/leak/cache?n=2000' >/dev/null; done
  for i in $(seq 50); do curl -s '${app_}/leak/cache?n=5000' >/dev/null; done
  for i in $(seq 50); do curl -s '${app_}/leak/array?n=5000' >/dev/null; done
  for i in $(seq 50); do curl -s '${app_}/bounded?n=5000' >/dev/null; done   # stays flat

Ctrl-C to stop.
`)

const timer = setInterval(() => {
  const r = kit.report()
  const mib = (b) => (b === null || b === undefined ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`)
  console.log(
    `[oomkit] rss ${mib(r.process.rss)}  heap used ${mib(r.process.heapUsed)}  live after GC ${mib(r.v8.liveAfterGcBytes)}` +
      `  working set ${mib(r.container?.workingSetBytes)}  limit ${mib(r.container?.limitBytes)}  budget: ${r.budget.verdict}`,
  )
  const top = r.profile?.topSites?.[0]
  if (top !== undefined) console.log(`[oomkit] top allocation site: ${top.function} ${top.file}:${top.line} holds ${mib(top.bytes)} (${top.count} objects)`)
  const t = r.trend
  if (t !== null) {
    const growing = t.growing === null ? 'nothing grows' : `${t.growing} grows ${mib((t.signals[t.growing].bytesPerSecond ?? 0) * 60)}/min`
    const limit = t.secondsToLimit === null ? '' : `, the ${t.limit} limit in ${Math.round(t.secondsToLimit / 60)} min`
    const site = t.growingSites[0] === undefined ? '' : `; fastest growing: ${t.growingSites[0].function} ${t.growingSites[0].file}:${t.growingSites[0].line}`
    console.log(`[oomkit] trend: ${growing}${limit}${t.leakSuspected ? ' — LEAK SUSPECTED' : ''}${site}`)
  }
  if (r.snapshot !== null)
    console.log(
      `[oomkit] heap snapshot now: ${r.snapshot.possible ? 'possible' : `refused (${r.snapshot.reason})`}, needs ~${mib(r.snapshot.neededBytes)}, headroom ${mib(r.snapshot.headroomBytes)}`,
    )
}, 10_000)
timer.unref()

async function shutdown() {
  clearInterval(timer)
  server.close()
  server.closeAllConnections()
  await kit.stop()
}
process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())
