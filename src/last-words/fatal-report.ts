import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NODE_REPORT_FILE } from './files.js'

/**
 * Node's own fatal-error report. A V8 heap out-of-memory aborts the process (exit 134) with no
 * JavaScript running after it: the report Node writes on a fatal error
 * (`process.report.reportOnFatalError`) is the only trace it leaves. oomkit turns it on, into the
 * last-words directory, unless the app configured reports itself, and puts the settings back at
 * stop. Node names the file itself (`report.<date>.<time>.<pid>.<thread>.<seq>.json`); the restart
 * recognises it by that name and by its header's `event` and `trigger`.
 */

interface ReportSettings {
  reportOnFatalError: boolean
  directory: string
  excludeEnv?: boolean
}

const settings = (): ReportSettings => process.report as unknown as ReportSettings

/** Who turned fatal-error reports on, and what was there before (one process, several kits). */
let armed: { dir: string; owners: number; hadExcludeEnv: boolean | undefined } | null = null

/** Where Node's fatal-error reports go after {@link armFatalReport}, and whether this kit holds a claim to release. */
export interface FatalReportArming {
  /** This kit turned reports on (or shares an earlier kit's doing): call {@link disarmFatalReport} at stop. */
  readonly claimed: boolean
  /** The directory Node writes fatal-error reports to, or null when they are off or go to the working directory. */
  readonly dir: string | null
}

/**
 * Turns on Node's report on fatal errors, written into `dir`, unless the app set
 * `reportOnFatalError` or a `directory` itself (then those stay as they are). Where Node can leave
 * the environment out of reports (`excludeEnv`, Node 22.13 and 23.3 on), it does so: the
 * environment holds secrets.
 */
export function armFatalReport(dir: string): FatalReportArming {
  const s = settings()
  if (armed !== null) {
    if (s.reportOnFatalError && s.directory === armed.dir) {
      armed.owners++
      return { claimed: true, dir: armed.dir }
    }
    // The app changed the settings since: they are its own now.
    armed = null
  }
  if (s.reportOnFatalError || s.directory !== '') return { claimed: false, dir: s.reportOnFatalError && s.directory !== '' ? s.directory : null }
  const hadExcludeEnv = 'excludeEnv' in s ? s.excludeEnv : undefined
  s.directory = dir
  s.reportOnFatalError = true
  if (hadExcludeEnv === false) s.excludeEnv = true
  armed = { dir, owners: 1, hadExcludeEnv }
  return { claimed: true, dir }
}

/** Releases one claim; the last one puts Node's settings back, unless the app changed them meanwhile. */
export function disarmFatalReport(): void {
  if (armed === null) return
  armed.owners--
  if (armed.owners > 0) return
  const s = settings()
  if (s.reportOnFatalError && s.directory === armed.dir) {
    s.reportOnFatalError = false
    s.directory = ''
    if (armed.hadExcludeEnv === false) s.excludeEnv = false
  }
  armed = null
}

/** What the restart reads of a Node report. */
export interface NodeReportHeader {
  readonly file: string
  readonly path: string
  readonly pid: number
  /** When Node wrote it, epoch ms. */
  readonly at: number
  /** `header.event`, e.g. "Allocation failed - JavaScript heap out of memory". */
  readonly event: string
  /** `header.trigger`, e.g. "OOMError", "FatalError", "JavaScript API". */
  readonly trigger: string
}

/** Reads the header of a Node report in `dir`; null when the file is not one. */
export function readNodeReport(dir: string, file: string): NodeReportHeader | null {
  if (!NODE_REPORT_FILE.test(file)) return null
  try {
    const header = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { header?: Record<string, unknown> }).header
    if (header === undefined || typeof header.processId !== 'number') return null
    const at = Number(header.dumpEventTimeStamp)
    return {
      file,
      path: join(dir, file),
      pid: header.processId,
      at: Number.isFinite(at) ? at : Date.parse(String(header.dumpEventTime)),
      event: String(header.event ?? ''),
      trigger: String(header.trigger ?? ''),
    }
  } catch {
    return null
  }
}

/** Whether a report is V8's heap out-of-memory. */
export function isHeapOutOfMemory(r: Pick<NodeReportHeader, 'event' | 'trigger'>): boolean {
  return r.trigger === 'OOMError' || /heap out of memory/i.test(r.event)
}
