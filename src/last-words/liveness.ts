import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Whether the process that wrote a run marker still runs. Pids are reused: a restarted container
 * is often pid 1 again, and a long-lived host recycles them. So a live pid counts as the marker's
 * writer only if that process started when the marker says its writer did.
 */

/** Who is asking: this process. */
export interface Self {
  readonly pid: number
  /** `performance.timeOrigin`: when this process started, epoch ms. */
  readonly processStartedAt: number
}

/** The marker fields liveness needs. */
export interface RunIdentity {
  readonly pid: number
  readonly processStartedAt: number
}

/** How far apart /proc's start time (whole seconds of boot time, clock ticks) and Node's time origin may be for one process. */
export const START_TIME_SLACK_MS = 5000

/** Linux's USER_HZ: /proc/<pid>/stat counts start time in these ticks on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** When process `pid` started, epoch ms, from procfs; null where procfs does not say. */
export function processStartTime(pid: number, procRoot: string): number | null {
  try {
    const stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    const btime = /^btime (\d+)$/m.exec(readFileSync(join(procRoot, 'stat'), 'utf8'))
    if (btime === null || !Number.isFinite(ticks)) return null
    return (Number(btime[1]) + ticks / CLOCK_TICKS_PER_SECOND) * 1000
  } catch {
    return null
  }
}

/**
 * Whether the marker's writer is alive. Our own pid: alive only if it is this very process (another
 * oomkit instance in it); an earlier start time is a previous incarnation, dead since we hold its
 * pid. Another pid: dead when no such process exists; when one does, alive unless procfs shows it
 * started at another time (a reused pid). Unknown start time: counted alive (never report a live run).
 */
export function runIsAlive(run: RunIdentity, procRoot: string, self: Self): boolean {
  if (run.pid === self.pid) return Math.abs(run.processStartedAt - self.processStartedAt) < 1
  if (!pidExists(run.pid)) return false
  const started = processStartTime(run.pid, procRoot)
  return started === null || Math.abs(started - run.processStartedAt) <= START_TIME_SLACK_MS
}
