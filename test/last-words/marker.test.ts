import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  MARKER_POINTS,
  MARKER_UPDATE_MS,
  type MarkerSample,
  type RunMarker,
  RunMarkerFile,
  START_TIME_SLACK_MS,
  markerName,
  processStartTime,
  readMarker,
  runIsAlive,
} from '../../src/last-words/index.js'
import { filesIn, removeTemps, tempDir } from './helpers.js'

afterAll(removeTemps)

const T0 = Date.UTC(2025, 5, 1, 12)
const self = { pid: process.pid, processStartedAt: performance.timeOrigin }

function marker(over: Partial<RunMarker> = {}): RunMarker {
  return {
    version: 1,
    pid: 4242,
    startedAt: T0,
    processStartedAt: T0 - 300,
    cgroupPath: '/ctr',
    oomKillsAtStart: 0,
    heapSizeLimitBytes: 271e6,
    oldGenerationLimitBytes: 268e6,
    lastSample: null,
    points: [],
    captures: 0,
    ...over,
  }
}

const sample = (at: number, ws = 100): MarkerSample => ({
  at,
  workingSetBytes: ws,
  limitBytes: 1000,
  utilization: ws / 1000,
  heapUsedBytes: 50,
  liveAfterGcBytes: 40,
  oomKills: 0,
})

describe('the run marker', () => {
  it('is written 0600 at start as run-<pid>-<startedAt>.json, then at most every 5 s, keeping the last 12 points', () => {
    const dir = tempDir('marker')
    const m = new RunMarkerFile(dir, marker())
    m.create(T0)
    expect(filesIn(dir)).toEqual([{ name: markerName(4242, T0), mode: 0o600, bytes: expect.any(Number) as number }])
    expect(markerName(4242, T0)).toBe(`run-4242-${T0}.json`)
    m.record(sample(T0 + 1000, 110))
    expect(readMarker(m.path)?.lastSample).toBeNull() // not due yet
    m.record(sample(T0 + MARKER_UPDATE_MS, 120))
    expect(readMarker(m.path)?.lastSample).toEqual(sample(T0 + MARKER_UPDATE_MS, 120))
    for (let i = 2; i < 40; i++) m.record(sample(T0 + i * MARKER_UPDATE_MS, 100 + i))
    const written = readMarker(m.path)!
    expect(written.points).toHaveLength(MARKER_POINTS)
    expect(written.points.at(-1)).toEqual([T0 + 39 * MARKER_UPDATE_MS, 139, 40])
    expect(filesIn(dir).map((f) => f.name)).toEqual([markerName(4242, T0)]) // the temp file was renamed over it
    m.captured(T0 + 200_000)
    expect(readMarker(m.path)?.captures).toBe(1)
    m.record(sample(T0 + 200_001), true)
    expect(readMarker(m.path)?.lastSample?.at).toBe(T0 + 200_001)
  })

  it('is removed by remove() (a clean stop), once, and no longer written after', () => {
    const dir = tempDir('marker')
    const m = new RunMarkerFile(dir, marker())
    m.create(T0)
    m.remove()
    m.remove()
    m.record(sample(T0 + 60_000), true)
    expect(filesIn(dir)).toEqual([])
  })

  it('reads back as null when garbled or of another version', () => {
    const dir = tempDir('marker')
    const m = new RunMarkerFile(dir, { ...marker(), version: 2 } as unknown as RunMarker)
    m.create(T0)
    expect(readMarker(m.path)).toBeNull()
    expect(readMarker(join(dir, 'missing.json'))).toBeNull()
    m.remove()
  })

  it('is removed on a normal exit of the process (the exit event)', async () => {
    const dir = tempDir('marker-exit')
    // The child runs dist/ (built by npm test), as users do.
    const src = new URL('../../dist/src/last-words/marker.js', import.meta.url).href
    const code = `import { RunMarkerFile } from ${JSON.stringify(src)}
      const m = new RunMarkerFile(${JSON.stringify(dir)}, { version: 1, pid: process.pid, startedAt: 1, processStartedAt: 1, cgroupPath: null, oomKillsAtStart: null, heapSizeLimitBytes: 1, oldGenerationLimitBytes: 1, lastSample: null, points: [], captures: 0 })
      m.create(1)
      console.log((await import('node:fs')).readdirSync(${JSON.stringify(dir)}).join())`
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const status = await new Promise((resolve) => child.once('exit', resolve))
    expect({ status, err: err.includes('Error') ? err : '' }).toEqual({ status: 0, err: '' })
    expect(out).toMatch(/^run-\d+-1\.json$/m)
    expect(filesIn(dir)).toEqual([])
  })
})

describe("whether a marker's process is alive", () => {
  it('our own pid: alive only for this very process (another instance in it), dead for an earlier incarnation', () => {
    expect(runIsAlive({ pid: process.pid, processStartedAt: performance.timeOrigin }, '/proc', self)).toBe(true)
    expect(runIsAlive({ pid: process.pid, processStartedAt: performance.timeOrigin - 60_000 }, '/proc', self)).toBe(false)
  })

  it('another pid: dead once it has exited; alive while it runs; dead when the live pid started at another time (reused)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' })
    await new Promise((resolve) => child.once('spawn', resolve))
    const pid = child.pid!
    const started = processStartTime(pid, '/proc')
    expect(started).not.toBeNull()
    expect(Math.abs(started! - Date.now())).toBeLessThan(10_000)
    expect(runIsAlive({ pid, processStartedAt: started! + 300 }, '/proc', self)).toBe(true)
    expect(runIsAlive({ pid, processStartedAt: started! - START_TIME_SLACK_MS - 60_000 }, '/proc', self)).toBe(false)
    // Without procfs to tell, a live pid counts as alive: never report a run that may still run.
    expect(runIsAlive({ pid, processStartedAt: 1 }, '/nonexistent-proc', self)).toBe(true)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    expect(runIsAlive({ pid, processStartedAt: started! }, '/proc', self)).toBe(false)
  })

  it("reads a process's start time from /proc even when its name has spaces and parentheses", () => {
    const ours = processStartTime(process.pid, '/proc')
    expect(Math.abs(ours! - performance.timeOrigin)).toBeLessThan(START_TIME_SLACK_MS)
    expect(readFileSync('/proc/self/stat', 'utf8')).toMatch(/^\d+ \(/)
    expect(existsSync('/proc/stat')).toBe(true)
  })
})
