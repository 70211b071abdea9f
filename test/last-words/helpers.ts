/**
 * Shared pieces of the last-words suites: child processes whose pino lines (stdout) and stderr are
 * collected per run, temp directories, and the files of a last-words directory with their modes.
 *
 * @example
 * const run = startChild(spawn(process.execPath, [SERVICE], { env }))
 * const exit = await run.exited
 * run.lines.filter((l) => l.msg === 'memory critical: ...')
 */
import { type ChildProcessWithoutNullStreams, spawnSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RunMarker, markerName } from '../../src/last-words/index.js'
import { eachLine } from '../helpers/lines.js'

/** The leaky service of the drills. */
export const SERVICE = fileURLToPath(new URL('../fixtures/leaky-service.mjs', import.meta.url))

/** One pino line a child wrote. */
export type ChildLine = Record<string, unknown> & { level: number; msg: string }

/** How a child ended: its exit code, or the signal that killed it. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running child and what it has written so far. */
export interface ChildRun {
  readonly child: ChildProcessWithoutNullStreams
  /** Its stdout, parsed line by line (lines that are not JSON are kept in `other`). */
  readonly lines: ChildLine[]
  readonly other: string[]
  /** Its stderr, as text, and the JSON lines in it (the last words' synchronous line). */
  stderr: string
  readonly exited: Promise<ChildExit>
  /** Lines whose `msg` contains `text`. */
  find(text: string): ChildLine[]
  /** Resolves with the first line whose `msg` contains `text` (rejects if the child exits first). */
  waitFor(text: string, timeoutMs?: number): Promise<ChildLine>
  /** The JSON lines of stderr. */
  stderrLines(): ChildLine[]
}

/** Collects a child's output as it comes. */
export function startChild(child: ChildProcessWithoutNullStreams): ChildRun {
  const lines: ChildLine[] = []
  const other: string[] = []
  const waiters: { text: string; resolve: (l: ChildLine) => void }[] = []
  eachLine(child.stdout, (text) => {
    try {
      const line = JSON.parse(text) as ChildLine
      lines.push(line)
      for (const w of [...waiters]) {
        if (typeof line.msg === 'string' && line.msg.includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    } catch {
      other.push(text)
    }
  })
  const run: ChildRun = {
    child,
    lines,
    other,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    find: (text) => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(text)),
    waitFor(text, timeoutMs = 30_000) {
      const found = run.find(text)[0]
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" line in ${timeoutMs} ms; stderr: ${run.stderr.slice(-2000)}`)), timeoutMs)
        waiters.push({ text, resolve: (l) => (clearTimeout(timer), resolve(l)) })
        void run.exited.then((e) => {
          clearTimeout(timer)
          reject(new Error(`child exited (${e.code ?? e.signal}) before a "${text}" line; stderr: ${run.stderr.slice(-2000)}`))
        })
      })
    },
    stderrLines: () =>
      run.stderr.split('\n').flatMap((l) => {
        if (!l.startsWith('{')) return []
        try {
          return [JSON.parse(l) as ChildLine]
        } catch {
          return []
        }
      }),
  }
  child.stderr.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString('utf8')
  })
  return run
}

const temps: string[] = []

/** A fresh temp directory, removed by {@link removeTemps}. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `oomkit-lw-${prefix}-`))
  temps.push(dir)
  return dir
}

/** Removes every temp directory made so far. */
export function removeTemps(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A file in a last-words directory: its name and permission bits. */
export interface DirEntry {
  readonly name: string
  readonly mode: number
  readonly bytes: number
}

/** The files in `dir`, sorted by name ([] when it does not exist). */
export function filesIn(dir: string): DirEntry[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.sort().map((name) => {
    const st = lstatSync(join(dir, name))
    return { name, mode: st.mode & 0o777, bytes: st.size }
  })
}

/** The kinds of last-words files in `dir` (`summary`, `report`, ...), in name order. */
export function kindsIn(dir: string): string[] {
  return filesIn(dir).flatMap((f) => /^\d{8}T\d{6}\.\d{3}Z-\d+-([a-z-]+)\./.exec(f.name)?.[1] ?? [])
}

/** A pid no process has now: a child that ran and exited. */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)
}

const MiB = 1024 * 1024

/**
 * Leaves in `diagnosticsDir/last-words` the marker of a run (`pid`, started `startedAgoMs` ago)
 * that died at 97% of a 256 MiB limit, as a run killed by the kernel would have; returns it.
 */
export function leaveDeadRun(diagnosticsDir: string, pid: number, startedAgoMs = 60_000): RunMarker {
  const startedAt = Date.now() - startedAgoMs
  const m: RunMarker = {
    version: 1,
    pid,
    startedAt,
    processStartedAt: startedAt - 500,
    cgroupPath: '/',
    oomKillsAtStart: 1,
    heapSizeLimitBytes: 271 * MiB,
    oldGenerationLimitBytes: 271 * MiB,
    captures: 0,
    points: [],
    lastSample: {
      at: startedAt + 55_000,
      workingSetBytes: 248 * MiB,
      limitBytes: 256 * MiB,
      utilization: 0.97,
      heapUsedBytes: 200 * MiB,
      liveAfterGcBytes: 190 * MiB,
      oomKills: 1,
    },
  }
  mkdirSync(join(diagnosticsDir, 'last-words'), { recursive: true, mode: 0o700 })
  writeFileSync(join(diagnosticsDir, 'last-words', markerName(pid, startedAt)), JSON.stringify(m))
  return m
}
