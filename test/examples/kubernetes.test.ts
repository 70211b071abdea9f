// examples/kubernetes/: the manifests parse and hang together, the Deployment's heap flag is
// oomkit's own advice for its limit, the probes outlast the worst heap-snapshot pause measured,
// the diagnostics directory works on an emptyDir as the kubelet creates it, every metric name the
// rules and the dashboard use is one oomkit really exports, and promtool accepts and tests the rules.
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import genericPool from 'generic-pool'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { DEFAULTS, createOomkit } from '../../src/index.js'
import type { ContainerMemory } from '../../src/container/index.js'
import { checkBudget } from '../../src/memory/budget.js'
import { fixture, roots } from '../fixtures/cgroup/expected.js'
import { captureLog } from '../helpers/logs.js'
import { MemoryCgroup, memoryCgroupsAvailable } from '../helpers/cgroup.js'
import { requireOrSkip } from '../helpers/require.js'
import { deadPid, leaveDeadRun } from '../last-words/helpers.js'
import {
  KIT_DIR,
  type Manifest,
  ROOT,
  appContainer,
  dashboard,
  dashboardQueries,
  durationSeconds,
  envVar,
  kitFiles,
  manifest,
  metricNames,
  quantityBytes,
  ruleGroups,
  rulesFileText,
  selectors,
  worstSnapshotPauseSeconds,
  yamlDocuments,
} from './kubernetes-kit.js'

const PROMTOOL = '/usr/bin/promtool'
const temps: string[] = []
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `oomkit-k8s-${prefix}-`))
  temps.push(d)
  return d
}
afterAll(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The container facts checkBudget needs, for a limit (the rest does not enter the verdict). */
function containerWithLimit(limitBytes: number): ContainerMemory {
  return { limitBytes } as unknown as ContainerMemory
}

describe('the files', () => {
  it('every YAML (multi-document too) and JSON file parses', () => {
    const files = kitFiles().filter((f) => /\.(ya?ml|json)$/.test(f))
    expect(files).toEqual(
      expect.arrayContaining([
        'deployment.yaml',
        'service.yaml',
        'podmonitor.yaml',
        'prometheusrule.yaml',
        'secret/oomkit-demo-debug.yaml',
        'grafana/oomkit-dashboard.json',
        'promtool/alerts.test.yaml',
      ]),
    )
    for (const f of files) {
      const path = join(KIT_DIR, f)
      if (f.endsWith('.json')) expect(() => JSON.parse(readFileSync(path, 'utf8')) as unknown, f).not.toThrow()
      else expect(yamlDocuments(path).length, f).toBeGreaterThan(0)
    }
  })

  it('what `kubectl apply -f examples/kubernetes/` applies is Kubernetes objects, and never the placeholder Secret', () => {
    const top = kitFiles().filter((f) => !f.includes('/') && /\.(ya?ml|json)$/.test(f))
    const objects = top.flatMap((f) => yamlDocuments(join(KIT_DIR, f)).map((d) => ({ f, d })))
    for (const { f, d } of objects) {
      expect(d, f).toMatchObject({
        apiVersion: expect.any(String) as unknown,
        kind: expect.any(String) as unknown,
        metadata: { name: expect.any(String) as unknown },
      })
    }
    expect(objects.map(({ d }) => d.kind as string).sort()).toEqual(['Deployment', 'PodMonitor', 'PrometheusRule', 'Service'])
    // The Secret is applied on purpose (its own directory), so a generated token is never overwritten.
    expect(yamlDocuments(join(KIT_DIR, 'secret', 'oomkit-demo-debug.yaml'))).toEqual([expect.objectContaining({ kind: 'Secret' })])
  })
})

describe('the Deployment', () => {
  it("sets the heap flag oomkit's budget check recommends for its memory limit (request = limit)", () => {
    const { requests, limits } = appContainer().resources as Manifest
    expect(requests.memory).toBe(limits.memory)
    const limit = quantityBytes(limits.memory as string)
    const options = envVar('NODE_OPTIONS').value as string
    const flag = /--max-old-space-size=(\d+)/.exec(options)
    expect(flag, options).not.toBeNull()
    const fixed = checkBudget(0, containerWithLimit(limit), DEFAULTS.heapRatio, { percentage: false })
    expect(Number(flag![1])).toBe(fixed.recommendedMaxOldSpaceSizeMb)
    expect(`--max-old-space-size=${flag![1]}`).toBe(fixed.recommendedFlag)
    // The comment names the advice of Nodes with the percentage flag: that one must be right too.
    const percentage = checkBudget(0, containerWithLimit(limit), DEFAULTS.heapRatio, { percentage: true }).recommendedFlag!
    expect(readFileSync(join(KIT_DIR, 'deployment.yaml'), 'utf8')).toContain(percentage)
  })

  // The image's Node, not necessarily the one running the tests, in a real memory cgroup with the
  // manifest's limit: V8 sizes its young generation from the memory it is given (3 MiB in 512 MiB
  // on Node 20 to 24; up to 48 MiB on Node 20 and 22 and 192 MiB on Node 24 with 4 GiB or more, as
  // on a test machine without a limit), and heap_size_limit counts it.
  const imageMajor = Number(/^FROM node:(\d+)/m.exec(readFileSync(join(KIT_DIR, 'Dockerfile'), 'utf8'))?.[1])
  const cached = join(ROOT, '.cache', 'node', String(imageMajor), 'bin', 'node')
  const imageNode = Number(process.versions.node.split('.')[0]) === imageMajor ? process.execPath : existsSync(cached) ? cached : null
  it.runIf(
    requireOrSkip(
      imageNode !== null,
      `Node ${imageMajor} (the Dockerfile's) is neither running nor in .cache/node (bash scripts/install-node.sh ${imageMajor})`,
    ) && memoryCgroupsAvailable(),
  )("with that flag the image's Node, in a memory cgroup of the manifest's limit, gets a heap limit the budget check calls ok", async () => {
    const limit = quantityBytes(appContainer().resources.limits.memory as string)
    const cg = MemoryCgroup.create('oomkit-kit')
    try {
      cg.setLimit(limit)
      const child = cg.spawnNode(['-p', 'process.versions.node + " " + require("node:v8").getHeapStatistics().heap_size_limit'], {
        node: imageNode!,
        env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: envVar('NODE_OPTIONS').value as string },
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const code = await new Promise((resolve) => child.once('close', resolve))
      expect(code, err).toBe(0)
      const [version, heapLimit] = out.trim().split(' ')
      expect(Number(version!.split('.')[0])).toBe(imageMajor)
      const budget = checkBudget(Number(heapLimit), containerWithLimit(limit), DEFAULTS.heapRatio)
      expect(budget.verdict, budget.message).toBe('ok')
      // The old space the flag sets, and a young generation that is small beside it.
      const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(envVar('NODE_OPTIONS').value as string)![1]) * 1024 * 1024
      expect(Number(heapLimit) - oldSpace).toBeLessThan(limit / 16)
    } finally {
      await cg.remove()
    }
  })

  it('takes the debug token from the Secret, and the pod name and namespace from the downward API', () => {
    const secret = yamlDocuments(join(KIT_DIR, 'secret', 'oomkit-demo-debug.yaml'))[0]!
    expect(envVar('OOMKIT_TOKEN').valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'token' })
    expect(secret.stringData.token).toMatch(/^[!-~]{1,4096}$/)
    expect(envVar('POD_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } })
    expect(envVar('POD_NAMESPACE').valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } })
  })

  it('puts diagnosticsDir on an emptyDir on disk, bounded, below the mount point', () => {
    const dir = envVar('OOMKIT_DIAGNOSTICS_DIR').value as string
    const mount = (appContainer().volumeMounts as Manifest[]).find((m) => dir.startsWith(`${m.mountPath as string}/`))
    expect(mount, `a volume mounted above ${dir}`).toBeDefined()
    const volume = (manifest('Deployment').spec.template.spec.volumes as Manifest[]).find((v) => v.name === mount!.name)
    expect(volume?.emptyDir).toBeDefined()
    expect(volume!.emptyDir.medium).toBeUndefined()
    expect(quantityBytes(volume!.emptyDir.sizeLimit as string)).toBeGreaterThanOrEqual((DEFAULTS.lastWords as { maxBytes: number }).maxBytes)
  })

  it('has probes whose patience outlasts the worst heap-snapshot pause in benchmarks/README.md', () => {
    const worst = worstSnapshotPauseSeconds()
    const { livenessProbe: live, readinessProbe: ready, ports } = appContainer()
    const window = (p: Manifest): number => (p.periodSeconds as number) * (p.failureThreshold as number)
    expect(window(live)).toBeGreaterThanOrEqual(2 * worst)
    expect(window(ready)).toBeGreaterThanOrEqual(1.5 * worst)
    for (const p of [live, ready]) {
      expect(p.timeoutSeconds).toBeLessThanOrEqual(p.periodSeconds)
      expect((ports as Manifest[]).map((x) => x.name)).toContain(p.httpGet.port)
    }
  })

  it('is what the Service and the PodMonitor select, on a port the container declares', () => {
    const pod = manifest('Deployment').spec.template
    const ports = (pod.spec.containers as Manifest[]).flatMap((c) => c.ports as Manifest[]).map((p) => p.name as string)
    const service = manifest('Service')
    expect(pod.metadata.labels).toMatchObject(service.spec.selector)
    for (const p of service.spec.ports as Manifest[]) expect(ports).toContain(p.targetPort)
    const monitor = manifest('PodMonitor')
    expect(pod.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels)
    for (const e of monitor.spec.podMetricsEndpoints as Manifest[]) {
      expect(ports).toContain(e.port)
      expect(e.path).toBe('/metrics')
    }
  })
})

describe('diagnosticsDir on an emptyDir as the kubelet makes it (mode 0777, no sticky bit)', () => {
  /** A copy of the Deployment's mount: an emptyDir root, and OOMKIT_DIAGNOSTICS_DIR mapped into it. */
  function emptyDir(): { root: string; diagnosticsDir: string } {
    const root = tempDir('emptydir')
    chmodSync(root, 0o777)
    const dir = envVar('OOMKIT_DIAGNOSTICS_DIR').value as string
    const mount = (appContainer().volumeMounts as Manifest[]).find((m) => dir.startsWith(`${m.mountPath as string}/`))!
    return { root, diagnosticsDir: join(root, dir.slice((mount.mountPath as string).length)) }
  }

  function start(diagnosticsDir: string) {
    const log = captureLog()
    const kit = createOomkit({
      ...roots('v2-limited-256m'),
      diagnosticsDir,
      logger: log.logger,
      registry: new Registry(),
      logIntervalMs: 0,
      defaultMetrics: false,
    })
    kit.start()
    return { kit, log }
  }

  it("the Deployment's directory below the mount gets last words and snapshots", async () => {
    const { diagnosticsDir } = emptyDir()
    const { kit, log } = start(diagnosticsDir)
    try {
      expect(log.lines.filter((l) => l.level >= 40 && l.verdict === undefined)).toEqual([])
      expect(lstatSync(join(diagnosticsDir, 'last-words')).mode & 0o777).toBe(0o700)
      expect(kit.report().snapshot).toMatchObject({ dir: join(diagnosticsDir, 'snapshots'), reason: expect.not.stringMatching(/directory/) as unknown })
    } finally {
      await kit.stop()
    }
  })

  it('the mount point itself is refused (why the Deployment points below it)', async () => {
    const { root } = emptyDir()
    const { kit, log } = start(root)
    try {
      expect(log.lines).toContainEqual(
        expect.objectContaining({ level: 40, msg: expect.stringMatching(/^oomkit last words write no files: .*writable by others/) as unknown }),
      )
    } finally {
      await kit.stop()
    }
  })
})

/** The metric names of a real kit's /metrics with every family populated: a limit, a previous crash, a cache, a tracked pool. */
async function realScrape(): Promise<{ names: Set<string>; labelsOf: Map<string, Set<string>> }> {
  const diagnosticsDir = tempDir('scrape')
  // A dead run's marker at 97% of the limit: the kit reports a previous crash (oomkit_previous_crash_info{cause}).
  leaveDeadRun(diagnosticsDir, deadPid())

  const cgroup = tempDir('cgroup')
  cpSync(fixture('v2-limited-256m').root, cgroup, { recursive: true })
  const registry = new Registry()
  const kit = createOomkit({
    cgroupRoot: join(cgroup, 'sys/fs/cgroup'),
    procRoot: join(cgroup, 'proc'),
    diagnosticsDir,
    logger: pino({ level: 'silent' }),
    registry,
    logIntervalMs: 0,
  }).start()
  const pool = genericPool.createPool({ create: () => Promise.resolve({}), destroy: () => Promise.resolve() }, { max: 2 })
  try {
    const cache = kit.cache('users', { max: 100 })
    cache.set('a', { id: 1 })
    cache.get('a')
    cache.get('b')
    kit.leaks.trackPool(pool, { name: 'jobs' })
    await pool.release(await pool.acquire())
    kit.leaks.acquire('socket', {}).release()
    const text = await registry.metrics()
    const names = new Set<string>()
    const labelsOf = new Map<string, Set<string>>()
    for (const m of text.matchAll(/^# TYPE (\S+) /gm)) names.add(m[1] as string)
    for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
      names.add(m[1] as string)
      const set = labelsOf.get(m[1] as string) ?? new Set<string>()
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(l[1] as string)
      labelsOf.set(m[1] as string, set)
    }
    return { names, labelsOf }
  } finally {
    await kit.stop()
    await pool.drain()
    await pool.clear()
  }
}

/** Metrics of other exporters the kit uses: cAdvisor (the kubelet) and kube-state-metrics. */
const EXTERNAL = new Set([
  'container_memory_working_set_bytes',
  'kube_pod_container_resource_limits',
  'kube_pod_container_status_last_terminated_reason',
  'kube_pod_container_status_restarts_total',
])
/** Labels Prometheus adds to every series of a PodMonitor's target; no exporter writes them. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'container', 'job', 'instance', 'endpoint'])

describe('metric names in the rules, the dashboard and the README', () => {
  it("every one is in a real oomkit scrape, a recording rule's output, or the allow-list of cAdvisor and kube-state-metrics names", async () => {
    const { names, labelsOf } = await realScrape()
    const recorded = new Set(ruleGroups().flatMap((g) => g.rules.flatMap((r) => (r.record === undefined ? [] : [r.record]))))
    const { exprs: panelExprs, variableMetrics } = dashboardQueries()
    const exprs = [...ruleGroups().flatMap((g) => g.rules.map((r) => r.expr)), ...panelExprs]
    const used = new Set([...exprs.flatMap(metricNames), ...variableMetrics])
    expect(used.size).toBeGreaterThan(30)

    const unknown = [...used].filter((n) => !names.has(n) && !recorded.has(n) && !EXTERNAL.has(n))
    expect(unknown).toEqual([])
    // Recording rules are named oomkit:metric[:operations], and the allow-list holds nothing stale.
    for (const r of recorded) expect(r).toMatch(/^oomkit:[a-z0-9_]+(:[a-z0-9_]+)?$/)
    expect([...EXTERNAL].filter((n) => !used.has(n))).toEqual([])
    // Every recording rule is used by an alert or the dashboard.
    expect([...recorded].filter((r) => !used.has(r))).toEqual([])

    // The labels the matchers select on exist on oomkit's series (a renamed label would match nothing).
    for (const { name, labels } of exprs.flatMap(selectors)) {
      if (EXTERNAL.has(name) || recorded.has(name)) continue
      for (const label of labels.filter((l) => !TARGET_LABELS.has(l))) expect(labelsOf.get(name), `${name}{${label}}`).toContain(label)
    }
  })

  it("every oomkit_ name of the README's metrics table and Kubernetes section is in a real scrape", async () => {
    const { names } = await realScrape()
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = (heading: string): string => {
      const start = readme.indexOf(heading)
      expect(start, heading).toBeGreaterThanOrEqual(0)
      const next = readme.slice(start + heading.length).search(/\n#{2,3} /)
      return readme.slice(start, next < 0 ? undefined : start + heading.length + next)
    }
    const mentioned = new Set(
      [section('\n### Metrics\n'), section('\n## Kubernetes\n')].flatMap((s) => [...s.matchAll(/`(oomkit_[a-z0-9_]+)/g)].map((m) => m[1] as string)),
    )
    expect(mentioned.size).toBeGreaterThan(30)
    expect([...mentioned].filter((n) => !names.has(n))).toEqual([])
  })
})

describe.runIf(requireOrSkip(existsSync(PROMTOOL), `${PROMTOOL} is missing (apt-get install prometheus)`))('promtool', () => {
  function promtool(args: string[], cwd: string): { status: number | null; output: string } {
    const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 20_000 })
    if (r.error) throw r.error
    return { status: r.status, output: `${r.stdout}${r.stderr}` }
  }

  function rulesDir(): string {
    const dir = tempDir('promtool')
    writeFileSync(join(dir, 'rules.yaml'), rulesFileText())
    copyFileSync(join(KIT_DIR, 'promtool', 'alerts.test.yaml'), join(dir, 'alerts.test.yaml'))
    return dir
  }

  it("`promtool check rules` accepts the PrometheusRule's spec", () => {
    const dir = rulesDir()
    const r = promtool(['check', 'rules', 'rules.yaml'], dir)
    expect(r.status, r.output).toBe(0)
    const count = ruleGroups().reduce((n, g) => n + g.rules.length, 0)
    expect(r.output).toContain(`SUCCESS: ${count} rules found`)
  })

  it('`promtool test rules` passes, with a case where each alert fires and where it does not', () => {
    const dir = rulesDir()
    const r = promtool(['test', 'rules', 'alerts.test.yaml'], dir)
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain('SUCCESS')
    const tests = yamlDocuments(join(dir, 'alerts.test.yaml'))[0]!.tests as Manifest[]
    const cases = tests.flatMap((t) => (t.alert_rule_test ?? []) as Manifest[])
    for (const alert of ruleGroups().flatMap((g) => g.rules.flatMap((x) => (x.alert === undefined ? [] : [x.alert])))) {
      const mine = cases.filter((c) => c.alertname === alert)
      expect(
        mine.some((c) => (c.exp_alerts as Manifest[]).length > 0),
        `${alert} fires somewhere`,
      ).toBe(true)
      expect(
        mine.some((c) => (c.exp_alerts as Manifest[]).length === 0),
        `${alert} does not fire somewhere`,
      ).toBe(true)
    }
  })

  it('the test is not vacuous: a rule with a looser threshold fails it', () => {
    const dir = rulesDir()
    const groups = ruleGroups()
    const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === 'MemoryApproachingLimit')!
    expect(rule.expr).toContain('> 0.85')
    ;(rule as { expr: string }).expr = rule.expr.replace('> 0.85', '> 0.75')
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }))
    const r = promtool(['test', 'rules', 'alerts.test.yaml'], dir)
    expect(r.status).not.toBe(0)
    expect(r.output).toContain('alertname: MemoryApproachingLimit')
  })
})

describe('the dashboard', () => {
  it("puts cAdvisor's working set beside oomkit's and the limit, with unique panel ids and only the variables it defines", () => {
    const d = dashboard()
    const panels = (d.panels as Manifest[]).flatMap((p) => [p, ...((p.panels ?? []) as Manifest[])])
    const ids = panels.map((p) => p.id as number)
    expect(new Set(ids).size).toBe(ids.length)
    const first = panels.find((p) => (p.targets as Manifest[] | undefined)?.some((t) => (t.expr as string).startsWith('container_memory_working_set_bytes')))
    expect(first, "a panel with cAdvisor's working set").toBeDefined()
    const exprs = (first!.targets as Manifest[]).map((t) => t.expr as string)
    expect(exprs.some((e) => e.startsWith('oomkit_container_memory_working_set_bytes'))).toBe(true)
    expect(exprs.some((e) => e.startsWith('oomkit_container_memory_limit_bytes'))).toBe(true)
    const variables = new Set((d.templating.list as Manifest[]).map((v) => v.name as string))
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title as string).toEqual({ type: 'prometheus', uid: '${datasource}' })
      const refIds = (p.targets as Manifest[]).map((t) => t.refId as string)
      expect(new Set(refIds).size, p.title as string).toBe(refIds.length)
      for (const t of p.targets as Manifest[]) {
        for (const m of (t.expr as string).matchAll(/\$\{?(\w+)/g)) expect(variables, `${p.title as string}: $${m[1] as string}`).toContain(m[1])
      }
    }
  })
})

describe('the alert rules', () => {
  it('are one group of alerts, each with for, a severity, and a summary and description', () => {
    const groups = ruleGroups().filter((g) => g.rules.some((r) => r.alert !== undefined))
    expect(groups).toHaveLength(1)
    for (const r of groups[0]!.rules) {
      expect(r.alert, r.expr).toBeDefined()
      expect(durationSeconds(r.for!), r.alert).toBeGreaterThan(0)
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity)
      expect(r.annotations?.summary, r.alert).toBeTruthy()
      expect(r.annotations?.description, r.alert).toMatch(/\/debug\/|kubectl|NODE_OPTIONS=/)
    }
  })
})
