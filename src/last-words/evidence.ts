import { chmodSync, existsSync, lstatSync, readFileSync, readdirSync, renameSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { sweepPrivateDir } from '../diagnostics/private-dir.js'
import { LAST_WORDS_FILE, NODE_REPORT_FILE, lastWordsFileName } from './files.js'
import { type NodeReportHeader, readNodeReport } from './fatal-report.js'
import { type Self, runIsAlive } from './liveness.js'
import { RUN_MARKER_FILE, type RunMarker, readMarker } from './marker.js'
import type { LastWordsSites, LastWordsSummary } from './summary.js'

/**
 * Gathers what a run that did not end cleanly left behind: its marker, its last words, Node's
 * fatal-error report. Markers of dead runs are claimed first (renamed: when two processes share
 * the directory, one of them reports a crash, once), read, and removed.
 */

/** Everything found of one dead run. */
export interface RunEvidence {
  readonly marker: RunMarker
  /** When the marker was last written (its mtime), epoch ms. */
  readonly markerWrittenAt: number
  /** Its last-words summaries, oldest first. */
  readonly lastWords: readonly LastWordsSummary[]
  /** The sites file of the newest capture, if it was written. */
  readonly sites: LastWordsSites | null
  /** Node's newest fatal-error report of that process, if any. */
  readonly fatalReport: NodeReportHeader | null
  /** Files of the newest capture that are on disk, and the fatal report, as absolute paths. */
  readonly files: readonly string[]
}

/** Leftovers of marker updates and claims whose process is gone (the first group is the pid). */
const LEFTOVERS = [/^\.run-(\d+)-\d+\.json\.tmp$/, /^run-\d+-\d+\.json\.claimed-(\d+)$/]

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return null
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Claims the markers in `dir` whose process is dead; returns their paths after the claim. */
function claimDeadMarkers(dir: string, procRoot: string, self: Self): { path: string; marker: RunMarker | null; writtenAt: number }[] {
  const out: { path: string; marker: RunMarker | null; writtenAt: number }[] = []
  for (const name of list(dir)) {
    if (!RUN_MARKER_FILE.test(name)) continue
    const path = join(dir, name)
    const marker = readMarker(path)
    if (marker !== null && runIsAlive(marker, procRoot, self)) continue
    const claimed = `${path}.claimed-${self.pid}`
    let writtenAt = 0
    try {
      writtenAt = lstatSync(path).mtimeMs
      renameSync(path, claimed)
    } catch {
      continue // another process claimed it first
    }
    out.push({ path: claimed, marker, writtenAt })
  }
  return out
}

function lastWordsOf(dir: string, names: readonly string[], marker: RunMarker): LastWordsSummary[] {
  const out: LastWordsSummary[] = []
  for (const name of names) {
    const m = LAST_WORDS_FILE.exec(name)
    if (m === null || m[3] !== 'summary' || Number(m[2]) !== marker.pid) continue
    const s = readJson<LastWordsSummary>(join(dir, name))
    if (s?.kind === 'oomkit-last-words' && s.run?.pid === marker.pid && s.run.startedAt === marker.startedAt) out.push(s)
  }
  return out.sort((a, b) => a.atMs - b.atMs)
}

function fatalReportOf(dirs: readonly string[], marker: RunMarker, ownDir: string): NodeReportHeader | null {
  let newest: NodeReportHeader | null = null
  for (const dir of dirs) {
    for (const name of list(dir)) {
      const m = NODE_REPORT_FILE.exec(name)
      if (m === null || Number(m[1]) !== marker.pid) continue
      const r = readNodeReport(dir, name)
      // Written by that process: not before it started (a reused pid's older report).
      if (r === null || r.pid !== marker.pid || r.at < marker.processStartedAt - 1000) continue
      if (dir === ownDir) {
        try {
          chmodSync(r.path, 0o600) // Node writes it with the umask's mode; the directory is 0700 anyway.
        } catch {
          // Not ours to change.
        }
      }
      if (newest === null || r.at > newest.at) newest = r
    }
  }
  return newest
}

/** Where the evidence is, and who is asking. */
export interface EvidenceInput {
  /** The last-words directory. */
  readonly dir: string
  /** Directories Node's fatal-error reports may be in (the last-words directory, the app's own report directory). */
  readonly reportDirs: readonly string[]
  readonly procRoot: string
  readonly self: Self
}

/**
 * Finds every run in `dir` that ended without a clean stop, claims and retires its marker (the
 * evidence files stay: they are bounded), and returns what each left. Also removes leftovers of
 * dead processes (temp and claimed markers).
 */
export function gatherDeadRuns(input: EvidenceInput): RunEvidence[] {
  const { dir } = input
  for (const pattern of LEFTOVERS) sweepPrivateDir(dir, pattern)
  const claimed = claimDeadMarkers(dir, input.procRoot, input.self)
  if (claimed.length === 0) return []
  const names = list(dir)
  const out: RunEvidence[] = []
  for (const { path, marker, writtenAt } of claimed) {
    try {
      unlinkSync(path)
    } catch {
      // Gone already.
    }
    if (marker === null) continue
    const lastWords = lastWordsOf(dir, names, marker)
    const newest = lastWords.at(-1)
    const sitesName = newest?.files.sites
    const sites = sitesName === undefined ? null : readJson<LastWordsSites>(join(dir, sitesName))
    const fatalReport = fatalReportOf(input.reportDirs, marker, dir)
    const files: string[] = []
    if (newest !== undefined) {
      for (const name of [lastWordsFileName(newest.atMs, marker.pid, 'summary'), ...Object.values(newest.files)]) {
        if (existsSync(join(dir, name))) files.push(join(dir, name))
      }
    }
    if (fatalReport !== null) files.push(fatalReport.path)
    out.push({ marker, markerWrittenAt: writtenAt, lastWords, sites: sites?.kind === 'oomkit-last-words-sites' ? sites : null, fatalReport, files })
  }
  return out
}
