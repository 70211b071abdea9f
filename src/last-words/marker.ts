import { readFileSync, renameSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writePrivateFile } from './files.js'

/**
 * The run marker: `<dir>/run-<pid>-<startedAtMs>.json`, written at start, kept up to date with the
 * newest reading (at most every {@link MARKER_UPDATE_MS}), removed by a clean `stop()` or a normal
 * exit. A marker that outlives its process is how the next start knows the run did not end cleanly.
 */

/** Run marker names; the captures are the pid and the start time in epoch ms. */
export const RUN_MARKER_FILE = /^run-(\d+)-(\d+)\.json$/

/** Least time between two marker updates from the sampler: a write and a rename every 5 s at most. */
export const MARKER_UPDATE_MS = 5000

/** Readings the marker keeps for the growth rate of a run that died without last words. */
export const MARKER_POINTS = 12

/** One reading as the marker records it: epoch ms, working set and live set (bytes or null). */
export type MarkerPoint = readonly [t: number, workingSet: number | null, liveAfterGc: number | null]

/** The newest reading of the run. */
export interface MarkerSample {
  readonly at: number
  readonly workingSetBytes: number | null
  readonly limitBytes: number | null
  readonly utilization: number | null
  readonly heapUsedBytes: number
  readonly liveAfterGcBytes: number | null
  readonly oomKills: number | null
}

/** What a marker holds. */
export interface RunMarker {
  readonly version: 1
  readonly pid: number
  /** When oomkit started in that run, epoch ms (part of the name). */
  readonly startedAt: number
  /** When that process started (`performance.timeOrigin`): tells a reused pid apart. */
  readonly processStartedAt: number
  readonly cgroupPath: string | null
  /** The cgroup's `oom_kill` count when the run started. */
  readonly oomKillsAtStart: number | null
  readonly heapSizeLimitBytes: number
  readonly oldGenerationLimitBytes: number
  readonly lastSample: MarkerSample | null
  readonly points: readonly MarkerPoint[]
  /** Last-words captures written so far. */
  readonly captures: number
}

/** The marker file's name for a run. */
export function markerName(pid: number, startedAt: number): string {
  return `run-${pid}-${startedAt}.json`
}

/** Reads and checks a marker; null when it is not one (garbled, another version). */
export function readMarker(path: string): RunMarker | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunMarker> | null
    if (m === null || typeof m !== 'object' || m.version !== 1 || typeof m.pid !== 'number' || typeof m.startedAt !== 'number') return null
    return { ...m, points: Array.isArray(m.points) ? m.points : [], lastSample: m.lastSample ?? null } as RunMarker
  } catch {
    return null
  }
}

// One 'exit' listener for every marker of the process: a clean exit removes them all.
const live = new Set<string>()
function removeLiveMarkers(): void {
  for (const path of live) {
    try {
      unlinkSync(path)
    } catch {
      // Gone already.
    }
  }
  live.clear()
}

/**
 * This run's marker. Updates go to a temp file renamed over the marker, so a SIGKILL mid-write
 * leaves the previous version whole.
 */
export class RunMarkerFile {
  /** Where the marker file is. */
  readonly path: string
  #marker: RunMarker
  #lastWrite = 0
  #removed = false

  constructor(
    readonly dir: string,
    marker: RunMarker,
  ) {
    this.path = join(dir, markerName(marker.pid, marker.startedAt))
    this.#marker = marker
  }

  /** The marker as last written. */
  get marker(): RunMarker {
    return this.#marker
  }

  /** Writes the marker the first time and registers it for removal on a normal exit. Throws the file system's error. */
  create(now: number): void {
    writePrivateFile(this.dir, markerName(this.#marker.pid, this.#marker.startedAt), JSON.stringify(this.#marker))
    this.#lastWrite = now
    if (live.size === 0) process.on('exit', removeLiveMarkers)
    live.add(this.path)
  }

  /** Records a reading; writes when `force` or when the last write is {@link MARKER_UPDATE_MS} old. */
  record(sample: MarkerSample, force = false): void {
    if (this.#removed) return
    const points = [...this.#marker.points, [sample.at, sample.workingSetBytes, sample.liveAfterGcBytes] as MarkerPoint].slice(-MARKER_POINTS)
    const due = force || sample.at - this.#lastWrite >= MARKER_UPDATE_MS
    // Points are kept at the write cadence, so twelve of them span a minute, not a second.
    this.#marker = { ...this.#marker, lastSample: sample, points: due ? points : this.#marker.points }
    if (due) this.#write(sample.at)
  }

  /** Counts one capture, written at once. */
  captured(at: number): void {
    if (this.#removed) return
    this.#marker = { ...this.#marker, captures: this.#marker.captures + 1 }
    this.#write(at)
  }

  /** Marks the run clean: removes the marker. Idempotent. */
  remove(): void {
    if (this.#removed) return
    this.#removed = true
    live.delete(this.path)
    if (live.size === 0) process.off('exit', removeLiveMarkers)
    try {
      unlinkSync(this.path)
    } catch {
      // Gone already.
    }
  }

  #write(now: number): void {
    const temp = `.${markerName(this.#marker.pid, this.#marker.startedAt)}.tmp`
    try {
      try {
        unlinkSync(join(this.dir, temp))
      } catch {
        // None left over.
      }
      writePrivateFile(this.dir, temp, JSON.stringify(this.#marker))
      renameSync(join(this.dir, temp), this.path)
      this.#lastWrite = now
    } catch {
      // A full disk or a removed directory: the marker keeps its last version, the next update tries again.
    }
  }
}
