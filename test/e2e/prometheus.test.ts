// End to end with a real Prometheus: the demo service (examples/demo.mjs, oomkit from dist/) runs
// with the environment examples/kubernetes/deployment.yaml gives it, and /usr/bin/prometheus scrapes
// it as the PodMonitor would (path, target labels) and evaluates the PrometheusRule's rules. The
// assertions go through Prometheus's HTTP API, against what the service's own /metrics says.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { type Manifest, ROOT, appContainer, envVar, manifest, ruleGroups, rulesFileText } from '../examples/kubernetes-kit.js'
import { requireOrSkip } from '../helpers/require.js'
import { freePort } from '../helpers/http.js'

const PROMETHEUS = '/usr/bin/prometheus'
const MiB = 1024 * 1024
const TOKEN = 'e2e-debug-token-0123456789abcdef'
const POD = { name: 'oomkit-demo-7d9f5c-x2x4q', namespace: 'shop' }

interface Child {
  readonly process: ChildProcess
  readonly output: () => string
  readonly exited: Promise<void>
}

const children: Child[] = []
let dir = ''

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Child {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const c = { process: child, output: () => out, exited }
  children.push(c)
  return c
}

async function stop(c: Child): Promise<void> {
  if (c.process.exitCode !== null || c.process.signalCode !== null) return
  c.process.kill('SIGTERM')
  const killer = setTimeout(() => c.process.kill('SIGKILL'), 5000)
  await c.exited
  clearTimeout(killer)
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await attempt()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  const targets = promUrl === '' ? '' : await fetch(`${promUrl}/api/v1/targets`).then((r) => r.text(), String)
  throw new Error(`${what}: not in ${timeoutMs} ms (${String(last)})\ntargets: ${targets}\n${children.map((c) => c.output().slice(-3000)).join('\n---\n')}`)
}

/** The demo's environment as the Deployment sets it, with what only a cluster provides filled in. */
function deploymentEnv(diagnosticsRoot: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH }
  const mountPath = (appContainer().volumeMounts as Manifest[])[0]!.mountPath as string
  for (const e of appContainer().env as Manifest[]) {
    const name = e.name as string
    if (e.valueFrom?.secretKeyRef !== undefined) env[name] = TOKEN
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[name] = POD.name
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[name] = POD.namespace
    else env[name] = e.value as string
  }
  // Loopback and free ports here; the emptyDir's mount point is a temp directory.
  env.HOST = '127.0.0.1'
  env.PORT = '0'
  env.OOMKIT_PORT = '0'
  env.OOMKIT_DIAGNOSTICS_DIR = join(diagnosticsRoot, (envVar('OOMKIT_DIAGNOSTICS_DIR').value as string).slice(mountPath.length))
  return env
}

interface Sample {
  readonly metric: Record<string, string>
  readonly value: [number, string]
}

let promUrl = ''
let appUrl = ''
let debugUrl = ''
let demo: Child

async function query(q: string, time?: number): Promise<Sample[]> {
  const params = new URLSearchParams({ query: q })
  if (time !== undefined) params.set('time', String(time))
  const res = await fetch(`${promUrl}/api/v1/query?${params.toString()}`)
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Sample[] }; error?: string }
  if (body.status !== 'success') throw new Error(`${q}: ${body.error ?? res.status}`)
  return body.data.result
}

/** One sample value of a family in a text exposition (the unlabelled series). */
async function ownValue(name: string): Promise<number> {
  const text = await (await fetch(`${appUrl}/metrics`)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  if (m === null) throw new Error(`${name} is not in the service's /metrics`)
  return Number(m[1])
}

describe.runIf(requireOrSkip(existsSync(PROMETHEUS), `${PROMETHEUS} is missing (apt-get install prometheus)`))('a real Prometheus scraping the demo', () => {
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)')
    dir = mkdtempSync(join(tmpdir(), 'oomkit-e2e-prom-'))
    const diagnostics = join(dir, 'diagnostics')
    mkdirSync(diagnostics)
    chmodSync(diagnostics, 0o777) // as the kubelet creates an emptyDir
    demo = run(process.execPath, ['examples/demo.mjs'], deploymentEnv(diagnostics), ROOT)
    const listening = await eventually('the demo says where it listens', () => {
      const line = demo
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"demo listening"'))
      return Promise.resolve(line === undefined ? undefined : (JSON.parse(line) as { appPort: number; debugPort: number }))
    })
    appUrl = `http://127.0.0.1:${listening.appPort}`
    debugUrl = `http://127.0.0.1:${listening.debugPort}`

    const port = await freePort()
    promUrl = `http://127.0.0.1:${port}`
    const monitor = manifest('PodMonitor')
    const endpoint = monitor.spec.podMetricsEndpoints[0] as Manifest
    writeFileSync(join(dir, 'rules.yaml'), rulesFileText())
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yaml'],
        scrape_configs: [
          {
            // The job and target labels prometheus-operator gives a PodMonitor's targets.
            job_name: `${POD.namespace}/${monitor.metadata.name as string}`,
            metrics_path: endpoint.path,
            static_configs: [
              { targets: [`127.0.0.1:${listening.appPort}`], labels: { namespace: POD.namespace, pod: POD.name, container: 'app', endpoint: endpoint.port } },
            ],
          },
        ],
      }),
    )
    run(
      PROMETHEUS,
      ['--config.file=prometheus.yml', `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { PATH: process.env.PATH },
      dir,
    )
    await eventually('Prometheus is ready', async () => ((await fetch(`${promUrl}/-/ready`)).status === 200 ? true : undefined))
  })

  afterAll(async () => {
    await Promise.all(children.splice(0).map(stop))
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('the demo runs as the Deployment configures it: probes, /metrics and the token on the app port, loopback debug server, pod fields in the logs', async () => {
    expect((await fetch(`${appUrl}/healthz`)).status).toBe(200)
    expect((await fetch(`${appUrl}/metrics`)).status).toBe(200)
    expect((await fetch(`${appUrl}/debug/memory`)).status).toBe(401)
    const withToken = await fetch(`${appUrl}/debug/memory`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(withToken.status).toBe(200)
    // The loopback server answers without a token: what kubectl port-forward reaches.
    const report = (await (await fetch(`${debugUrl}/debug/memory`)).json()) as { snapshot: { dir: string }; v8: { heapSizeLimit: number } }
    expect(report.snapshot.dir).toBe(join(deploymentEnv(join(dir, 'diagnostics')).OOMKIT_DIAGNOSTICS_DIR!, 'snapshots'))
    // --max-old-space-size=384 from NODE_OPTIONS took effect: V8's limit is that plus the young generation
    // (48 MiB on Node 20 and 22, 192 MiB on 24; whether that fits the limit is test/examples/kubernetes.test.ts's).
    expect(report.v8.heapSizeLimit).toBeGreaterThanOrEqual(384 * MiB)
    expect(report.v8.heapSizeLimit).toBeLessThanOrEqual((384 + 192) * MiB)
    const lines = demo
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.length).toBeGreaterThan(2)
    for (const l of lines) expect(l).toMatchObject({ pod: POD.name, namespace: POD.namespace })
    // Nothing went wrong: no warning but the audit line of the 401 above.
    expect(lines.filter((l) => (l.level as number) >= 40 && l.audit !== true)).toEqual([])
  })

  it("Prometheus has oomkit's series, with the target's labels and the service's own values", async () => {
    const [limit] = await eventually('oomkit_v8_heap_limit_bytes in Prometheus', async () => {
      const r = await query('oomkit_v8_heap_limit_bytes')
      return r.length > 0 ? r : undefined
    })
    expect(limit!.metric).toMatchObject({ job: `${POD.namespace}/oomkit-demo`, namespace: POD.namespace, pod: POD.name, container: 'app', endpoint: 'http' })
    expect(Number(limit!.value[1])).toBe(await ownValue('oomkit_v8_heap_limit_bytes'))

    const before = await ownValue('oomkit_container_memory_working_set_bytes')
    const [ws] = await query('oomkit_container_memory_working_set_bytes')
    const after = await ownValue('oomkit_container_memory_working_set_bytes')
    const value = Number(ws!.value[1])
    expect(value).toBeGreaterThan(0)
    expect(value).toBeGreaterThanOrEqual(0.8 * Math.min(before, after))
    expect(value).toBeLessThanOrEqual(1.2 * Math.max(before, after))
    // Read from one cgroup reading per scrape: the working set never exceeds the usage it comes from.
    expect((await query('oomkit_container_memory_working_set_bytes <= bool oomkit_container_memory_usage_bytes'))[0]!.value[1]).toBe('1')
    const [budget] = await query('oomkit_memory_budget_info')
    expect(budget!.value[1]).toBe('1')
    expect(['ok', 'heap-limit-exceeds-container', 'heap-limit-far-below-container', 'no-container-limit', 'unknown']).toContain(budget!.metric.verdict)
  })

  it("evaluates the PrometheusRule's rules: every one healthy, the recording rule over oomkit's series plausible", async () => {
    const [ratio] = await eventually('the recording rule has a sample', async () => {
      const r = await query('oomkit:v8_heap_used_bytes:ratio_to_heap_limit')
      return r.length > 0 ? r : undefined
    })
    expect(ratio!.metric).toMatchObject({ namespace: POD.namespace, pod: POD.name, container: 'app' })
    const recorded = Number(ratio!.value[1])
    expect(recorded).toBeGreaterThan(0)
    expect(recorded).toBeLessThan(1)
    const direct = Number((await query('nodejs_heap_size_used_bytes / oomkit_v8_heap_limit_bytes'))[0]!.value[1])
    expect(recorded).toBeGreaterThan(direct / 2)
    expect(recorded).toBeLessThan(direct * 2)

    const rules = await eventually('every group evaluated', async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: { name: string; rules: { name: string; type: string; health: string; lastError?: string }[] }[] }
      }
      const all = body.data.groups.flatMap((g) => g.rules)
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? body.data.groups : undefined
    })
    // Every group and rule of the PrometheusRule loaded (the API lists groups by name).
    const loaded = Object.fromEntries(rules.map((g) => [g.name, g.rules.map((r) => r.name)]))
    expect(loaded).toEqual(Object.fromEntries(ruleGroups().map((g) => [g.name, g.rules.map((r) => r.record ?? r.alert)])))
    for (const r of rules.flatMap((g) => g.rules)) expect(r, r.name).toMatchObject({ health: 'ok' })
  })
})
