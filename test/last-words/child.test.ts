/**
 * Last words and the restart in child processes running dist/: a critical crossing on a cgroup
 * fixture tree, then SIGKILL; a real V8 heap out-of-memory; clean stops and normal exits; the
 * app's own report settings. The real-cgroup drills are in drill.test.ts.
 */
import { spawn } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { Profile } from 'pprof-format'
import { afterAll, describe, expect, it } from 'vitest'
import type { LastWordsSummary, PreviousCrash } from '../../src/last-words/index.js'
import { fixture } from '../fixtures/cgroup/expected.js'
import { type ChildLine, type ChildRun, SERVICE, filesIn, kindsIn, removeTemps, startChild, tempDir } from './helpers.js'

const CHILD = fileURLToPath(new URL('../fixtures/last-words-child.mjs', import.meta.url))
const LIMIT = 268435456
const INACTIVE = 25165824
afterAll(removeTemps)

/** A writable copy of the 256 MiB v2 fixture; `set(ratio, oomKills)` rewrites what the kernel would. */
function tree() {
  const root = join(tempDir('tree'), 'root')
  cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
  const cg = join(root, 'sys/fs/cgroup')
  const set = (ratio: number, oomKills = 1): void => {
    writeFileSync(join(cg, 'memory.current'), `${Math.round(LIMIT * ratio) + INACTIVE}\n`)
    writeFileSync(join(cg, 'memory.events'), `low 0\nhigh 0\nmax 12\noom 1\noom_kill ${oomKills}\noom_group_kill 0\n`)
  }
  set(0.5)
  return { cgroupRoot: cg, procRoot: join(root, 'proc'), set }
}

function child(mode: string, t: { cgroupRoot: string; procRoot: string }, diag: string, env: NodeJS.ProcessEnv = {}): ChildRun {
  return startChild(
    spawn(process.execPath, [CHILD, mode, t.cgroupRoot, t.procRoot, diag], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } }),
  )
}

/** The control line (stderr) that has `key`. */
async function control(run: ChildRun, key: string): Promise<ChildLine> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const line = run.stderrLines().find((l) => l.control === true && key in l)
    if (line !== undefined) return line
    if (Date.now() > deadline || run.child.exitCode !== null || run.child.signalCode !== null)
      throw new Error(`no ${key} control line; stderr: ${run.stderr.slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Starts a `report` child on the same directory and returns what it saw of the previous crash. */
async function restart(t: { cgroupRoot: string; procRoot: string }, diag: string, mode = 'report', env: NodeJS.ProcessEnv = {}) {
  const run = child(mode, t, diag, env)
  const exit = await run.exited
  expect(exit, run.stderr).toEqual({ code: 0, signal: null })
  const seen = await control(run, 'previousCrash')
  return {
    run,
    crash: seen.previousCrash as PreviousCrash | null,
    metric: seen.metric as string[],
    settings: seen.settings,
    stopped: (await control(run, 'stopped')).settings,
  }
}

describe('a critical crossing, then SIGKILL', () => {
  it('leaves the synchronous line on stderr, the critical line on stdout, and summary, report and Node report 0600; the restart names the container', async () => {
    const t = tree()
    const diag = tempDir('diag')
    const run = child('critical-kill', t, diag)
    await control(run, 'ready')
    t.set(0.97)
    const exit = await run.exited
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' })

    const last = run.stderrLines().filter((l) => l.lastWords === true)
    expect(last).toHaveLength(1)
    expect(last[0]).toMatchObject({
      level: 50,
      name: 'oomkit',
      trigger: 'critical',
      cause: 'container',
      limit: LIMIT,
      workingSet: Math.round(LIMIT * 0.97),
      dir: join(diag, 'last-words'),
    })
    // The app's logger buffers up to 4 KiB; the core flushed its critical line anyway.
    expect(run.find('memory critical')).toEqual([expect.objectContaining({ level: 50, threshold: 0.95 })])
    const dir = join(diag, 'last-words')
    expect(kindsIn(dir)).toEqual(['node-report', 'report', 'summary'])
    for (const f of filesIn(dir)) expect(f.mode, f.name).toBe(0o600)
    const summaryFile = filesIn(dir).find((f) => f.name.endsWith('-summary.json'))!
    expect(summaryFile.name).toMatch(new RegExp(`^\\d{8}T\\d{6}\\.\\d{3}Z-${run.child.pid}-summary\\.json$`))
    expect(JSON.parse(readFileSync(join(dir, summaryFile.name), 'utf8'))).toMatchObject({
      trigger: 'critical',
      cause: 'container',
      limitBytes: LIMIT,
      oomKills: 1,
    } satisfies Partial<LastWordsSummary>)
    expect(filesIn(dir).filter((f) => f.name.startsWith('run-'))).toHaveLength(1) // not clean: the marker stays

    t.set(0.5, 2) // the kernel counted the kill
    const { crash, metric, run: second } = await restart(t, diag)
    expect(crash).toMatchObject({ cause: 'container', pid: run.child.pid, oomKills: { recorded: 1, now: 2 }, lastWords: 1, limitBytes: LIMIT })
    expect(crash!.evidence).toContain("the cgroup's oom_kill count rose from 1 to 2")
    expect(metric).toEqual(['oomkit_previous_crash_info{cause="container"} 1'])
    const warns = second.lines.filter((l) => l.level === 40 && l.previousCrash !== undefined)
    expect(warns).toHaveLength(1)
    expect(warns[0]!.msg).toContain(`the previous instance (pid ${run.child.pid}`)
    expect(warns[0]!.msg).toContain('was killed at the container memory limit (OOM kill)')
    expect(warns[0]!.msg).toContain(`files in ${dir}`)
    // Reported once: a third start finds nothing.
    expect((await restart(t, diag)).crash).toBeNull()
  })

  it('given a moment more, the growing sites and the heap profile are on disk too (valid pprof)', async () => {
    const t = tree()
    const diag = tempDir('diag')
    const run = child('critical-wait', t, diag)
    await control(run, 'ready')
    t.set(0.97)
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' })
    const dir = join(diag, 'last-words')
    expect(kindsIn(dir)).toEqual(['heap', 'node-report', 'report', 'sites', 'summary'])
    for (const f of filesIn(dir)) expect(f.mode, f.name).toBe(0o600)
    const pprof = Profile.decode(gunzipSync(readFileSync(join(dir, filesIn(dir).find((f) => f.name.endsWith('-heap.pb.gz'))!.name))))
    expect(pprof.sampleType.length).toBe(2)
    const sites = JSON.parse(readFileSync(join(dir, filesIn(dir).find((f) => f.name.endsWith('-sites.json'))!.name), 'utf8')) as Record<string, unknown>
    // The trend as it stood (a critical crossing from a rewritten fixture: nothing grows here).
    expect(sites).toMatchObject({ kind: 'oomkit-last-words-sites', trend: { leakSuspected: false } })
  })
})

describe('a clean end marks the run clean', () => {
  it.each(['clean-stop', 'normal-exit', 'process-exit'])('%s: no previous crash at the next start, even after last words were written', async (mode) => {
    const t = tree()
    t.set(0.97) // critical from the first reading: last words are written, then the run ends cleanly
    const diag = tempDir('diag')
    const run = child(mode, t, diag)
    const exit = await run.exited
    expect(exit).toEqual({ code: mode === 'process-exit' ? 3 : 0, signal: null })
    expect(run.stderrLines().filter((l) => l.lastWords === true)).toHaveLength(1)
    expect(filesIn(join(diag, 'last-words')).filter((f) => f.name.startsWith('run-'))).toEqual([])
    t.set(0.5, 2)
    const { crash, metric } = await restart(t, diag)
    expect(crash).toBeNull()
    expect(metric).toEqual([])
  })
})

describe('the app configured reports itself', () => {
  it('keeps its reportOnFatalError and directory, at start and after stop', async () => {
    const t = tree()
    const own = tempDir('app-reports')
    const { settings, stopped } = await restart(t, tempDir('diag'), 'app-reports', { APP_REPORT_DIR: own })
    expect(settings).toEqual({ reportOnFatalError: true, directory: own })
    expect(stopped).toEqual({ reportOnFatalError: true, directory: own })
  })

  it('without them, oomkit turns reports on into its directory and puts the defaults back at stop', async () => {
    const diag = tempDir('diag')
    const { settings, stopped } = await restart(tree(), diag)
    expect(settings).toEqual({ reportOnFatalError: true, directory: join(diag, 'last-words') })
    expect(stopped).toEqual({ reportOnFatalError: false, directory: '' })
  })
})

/** The leaky service, V8's old generation capped at 48 MiB, no container limit, leaking 8 MB/s. */
function heapOom(diag: string, env: NodeJS.ProcessEnv = {}): ChildRun {
  const unlimited = fixture('v2-unlimited')
  return startChild(
    spawn(process.execPath, ['--max-old-space-size=48', SERVICE], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DIAG_DIR: diag,
        LEAK_MB_PER_S: '8',
        SAMPLE_INTERVAL_MS: '500',
        CGROUP_ROOT: unlimited.cgroupRoot,
        PROC_ROOT: unlimited.procRoot,
        ...env,
      },
    }),
  )
}

describe('a V8 heap out-of-memory', () => {
  it("dies with exit 134 and 'heap out of memory', leaves Node's fatal report and last words; the restart names the heap and leakyHandler", async () => {
    const diags = [tempDir('heap'), tempDir('heap')]
    const own = tempDir('app-reports')
    // One as oomkit sets things up, one where the app set its own report directory.
    const runs = [heapOom(diags[0]!), heapOom(diags[1]!, { APP_REPORT_DIR: own })]
    const exits = await Promise.all(runs.map((r) => r.exited))
    for (const [i, run] of runs.entries()) {
      expect(exits[i], run.stderr.slice(-3000)).toEqual({ code: null, signal: 'SIGABRT' }) // a shell says 134
      expect(run.stderr).toMatch(/JavaScript heap out of memory/)
      expect(run.stderrLines().filter((l) => l.lastWords === true)).toEqual([
        expect.objectContaining({ trigger: 'heap-near', cause: 'heap', oldGenerationLimit: 48 * 1024 * 1024 }),
      ])
    }
    const reportDir = (i: number): string => (i === 0 ? join(diags[0]!, 'last-words') : own)
    for (const i of [0, 1]) {
      const reports = filesIn(reportDir(i)).filter((f) => /^report\.\d{8}\.\d{6}\.\d+\.\d+\.\d+\.json$/.test(f.name))
      expect(reports, `reports in ${reportDir(i)}`).toHaveLength(1)
      const header = (JSON.parse(readFileSync(join(reportDir(i), reports[0]!.name), 'utf8')) as { header: Record<string, unknown> }).header
      expect(header).toMatchObject({ trigger: 'OOMError', processId: runs[i]!.child.pid, event: expect.stringMatching(/heap out of memory/) as unknown })
    }
    expect(kindsIn(join(diags[1]!, 'last-words'))).toContain('summary')

    for (const [i, diag] of diags.entries()) {
      const second = startChild(
        spawn(process.execPath, [SERVICE], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, DIAG_DIR: diag, MODE: 'restart', ...(i === 1 ? { APP_REPORT_DIR: own } : {}) },
        }),
      )
      expect(await second.exited, second.stderr).toEqual({ code: 0, signal: null })
      const warn = second.lines.filter((l) => l.level === 40 && l.previousCrash !== undefined)
      expect(warn).toHaveLength(1)
      expect(warn[0]!.msg).toContain('ran out of V8 heap (JavaScript heap out of memory)')
      expect(warn[0]!.msg).toContain('leakyHandler')
      const crash = second.find('restart report')[0]!.previousCrash as PreviousCrash
      expect(crash).toMatchObject({
        cause: 'heap',
        pid: runs[i]!.child.pid,
        diedAtBasis: 'fatal-report',
        fatalReport: { trigger: 'OOMError' },
        heapLimitBytes: 48 * 1024 * 1024,
      })
      expect([...crash.growingSites, ...crash.topSites][0]).toMatchObject({ function: 'leakyHandler', file: SERVICE })
      expect(crash.growthBytesPerSecond).toBeGreaterThan(1e6)
    }
  }, 90_000)
})
