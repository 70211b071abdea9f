import { lstatSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../src/index.js'
import { markerName, readMarker } from '../../src/last-words/index.js'
import { roots } from '../fixtures/cgroup/expected.js'
import { capture } from '../heap/snapshot/helpers.js'
import { deadPid, filesIn, leaveDeadRun, removeTemps, tempDir } from './helpers.js'

const MiB = 1024 * 1024
const kits: Oomkit[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})
afterAll(removeTemps)

/** A kit on the 256 MiB v2 fixture (working set ~45%: below every threshold), with its own diagnosticsDir. */
function kit(diagnosticsDir: string, options: Omit<OomkitOptions, 'logger' | 'registry'> = {}) {
  const cap = capture()
  const registry = new Registry()
  const k = createOomkit({ ...roots('v2-limited-256m'), diagnosticsDir, logger: cap.logger, registry, logIntervalMs: 0, defaultMetrics: false, ...options })
  kits.push(k)
  return { kit: k, registry, lines: cap.lines }
}

describe('the run marker through the kit', () => {
  it('is written at start into <diagnosticsDir>/last-words (0700), and a clean stop removes it: the next start reports nothing', async () => {
    const diag = tempDir('kit')
    const a = kit(diag)
    a.kit.start()
    const dir = join(diag, 'last-words')
    expect(lstatSync(dir).mode & 0o777).toBe(0o700)
    const [file] = filesIn(dir)
    expect(file).toMatchObject({ name: expect.stringMatching(new RegExp(`^run-${process.pid}-\\d+\\.json$`)) as unknown, mode: 0o600 })
    expect(readMarker(join(dir, file!.name))).toMatchObject({
      pid: process.pid,
      processStartedAt: performance.timeOrigin,
      cgroupPath: '/',
      oomKillsAtStart: 1,
      lastSample: { limitBytes: 256 * MiB },
    })
    expect(a.lines).toContainEqual(expect.objectContaining({ msg: 'oomkit last words armed', dir, fatalReports: dir }))
    await a.kit.stop()
    expect(filesIn(dir)).toEqual([])

    const b = kit(diag)
    b.kit.start()
    expect(b.kit.report().previousCrash).toBeNull()
    expect(b.lines.filter((l) => l.level >= 40)).toEqual([expect.objectContaining({ verdict: 'heap-limit-exceeds-container' })])
    expect(await b.registry.metrics()).not.toMatch(/^oomkit_previous_crash_info\{/m)
  })

  it('another running instance in this process is not a crash', () => {
    const diag = tempDir('kit')
    kit(diag).kit.start()
    const b = kit(diag)
    b.kit.start()
    expect(b.kit.report().previousCrash).toBeNull()
    expect(filesIn(join(diag, 'last-words')).filter((f) => f.name.startsWith('run-'))).toHaveLength(2)
  })
})

describe('the previous crash through the kit', () => {
  it('one warn line, the previousCrash section and oomkit_previous_crash_info{cause} 1; once only', async () => {
    const diag = tempDir('kit')
    const pid = deadPid()
    leaveDeadRun(diag, pid)
    const a = kit(diag)
    a.kit.start()
    const warns = a.lines.filter((l) => l.level === 40 && l.previousCrash !== undefined)
    expect(warns).toHaveLength(1)
    expect(warns[0]!.msg).toMatch(
      new RegExp(
        `^oomkit: the previous instance \\(pid ${pid}, started \\S+\\) was killed at the container memory limit \\(OOM kill\\) after \\S+ \\(last seen\\): working set 248\\.0 MiB of 256\\.0 MiB`,
      ),
    )
    expect(a.kit.report().previousCrash).toMatchObject({
      cause: 'container',
      pid,
      utilization: 0.97,
      oomKills: { recorded: 1, now: 1 },
      dir: join(diag, 'last-words'),
    })
    expect(await a.registry.metrics()).toMatch(/^oomkit_previous_crash_info\{cause="container"\} 1$/m)
    await a.kit.stop()

    const b = kit(diag)
    b.kit.start()
    expect(b.kit.report().previousCrash).toBeNull()
    expect(b.lines.filter((l) => l.previousCrash !== undefined)).toEqual([])
  })

  it('a dead run with no sign of a memory death gets an info line, no section', () => {
    const diag = tempDir('kit')
    const pid = deadPid()
    const m = leaveDeadRun(diag, pid)
    writeFileSync(join(diag, 'last-words', markerName(pid, m.startedAt)), JSON.stringify({ ...m, lastSample: { ...m.lastSample, utilization: 0.4 } }))
    const a = kit(diag)
    a.kit.start()
    expect(a.kit.report().previousCrash).toBeNull()
    expect(a.lines).toContainEqual(
      expect.objectContaining({
        level: 30,
        uncleanRuns: [{ pid, startedAt: new Date(m.startedAt).toISOString() }],
        msg: expect.stringContaining('did not stop cleanly, with no sign of a memory death') as unknown,
      }),
    )
  })
})

describe("Node's fatal-error report", () => {
  const before = { reportOnFatalError: process.report.reportOnFatalError, directory: process.report.directory }
  afterEach(() => {
    process.report.reportOnFatalError = before.reportOnFatalError
    process.report.directory = before.directory
  })

  it('is turned on into the last-words directory at start, and put back at stop (after the last of two kits)', async () => {
    expect(process.report.reportOnFatalError).toBe(false)
    const diag = tempDir('kit')
    const a = kit(diag)
    const b = kit(tempDir('kit'))
    a.kit.start()
    b.kit.start()
    expect(process.report.reportOnFatalError).toBe(true)
    expect(process.report.directory).toBe(join(diag, 'last-words'))
    await a.kit.stop()
    expect(process.report.reportOnFatalError).toBe(true)
    await b.kit.stop()
    expect(process.report.reportOnFatalError).toBe(false)
    expect(process.report.directory).toBe('')
  })

  it("is left alone when the app configured it, and the app's directory is read at the restart", async () => {
    const own = tempDir('app-reports')
    process.report.reportOnFatalError = true
    process.report.directory = own
    const a = kit(tempDir('kit'))
    a.kit.start()
    expect(a.lines).toContainEqual(expect.objectContaining({ msg: 'oomkit last words armed', fatalReports: own }))
    expect(process.report.directory).toBe(own)
    await a.kit.stop()
    expect(process.report).toMatchObject({ reportOnFatalError: true, directory: own })
  })
})

describe('lastWords: false', () => {
  it('writes nothing, touches no report setting, and the section is null', async () => {
    const diag = tempDir('kit')
    const pid = deadPid()
    leaveDeadRun(diag, pid)
    const a = kit(diag, { lastWords: false })
    a.kit.start()
    expect(process.report.reportOnFatalError).toBe(false)
    expect(a.kit.report().previousCrash).toBeNull()
    expect(filesIn(join(diag, 'last-words')).map((f) => f.name)).toEqual([expect.stringMatching(new RegExp(`^run-${pid}-`)) as unknown])
    expect(await a.registry.metrics()).not.toContain('oomkit_previous_crash_info')
  })
})

describe('an unusable directory', () => {
  it('is logged; the kit runs on without files (the synchronous line would still be written)', () => {
    const diag = join(tempDir('kit'), 'a-file')
    writeFileSync(diag, 'not a directory')
    const a = kit(diag)
    a.kit.start()
    expect(a.kit.running).toBe(true)
    expect(a.kit.report().previousCrash).toBeNull()
    expect(a.lines).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^oomkit last words write no files: /) as unknown }))
    expect(readFileSync(diag, 'utf8')).toBe('not a directory')
  })
})
