import type { ContainerMemory } from '../../container/index.js'
import type { OomkitErrorCode } from '../../errors.js'
import type { OomkitLogger } from '../../logging/logger.js'
import { type Headroom, computeHeadroom, readHostAvailable } from '../../memory/headroom.js'
import { readHeapUsed } from '../../memory/v8.js'
import { type Collector, defineCollector } from '../../metrics/collector.js'
import { FILE_BYTES_PER_HEAP_BYTE, estimateSnapshotCost, readHeapCostInput } from './cost.js'
import { freeDiskBytes } from '../../diagnostics/private-dir.js'
import { SNAPSHOT_DEFAULTS } from './options.js'
import { type SnapshotDir, FALLBACK_SNAPSHOT_ROOT, plannedSnapshotDir, prepareSnapshotDir, sweepSnapshotDir } from './dir.js'

/** Every value of the `outcome` label of `oomkit_heap_snapshots_total`. */
export const SNAPSHOT_OUTCOMES = ['ok', 'aborted', 'refused_busy', 'refused_cooldown', 'refused_headroom', 'refused_dir', 'disk_full', 'error'] as const

/** One outcome of a snapshot request (HEAD requests are not counted). */
export type SnapshotOutcome = (typeof SNAPSHOT_OUTCOMES)[number]

/** What the guard needs from the kit. */
export interface SnapshotGuardDeps {
  readonly diagnosticsDir: string
  readonly cooldownMs: number
  readonly allowTmpfs: boolean
  /** Where `meminfo` is read from for the host's available memory. */
  readonly procRoot: string
  readonly logger: OomkitLogger
  /** The cgroup's memory now (the kit's sampler), or null without one. */
  readonly readContainer: () => ContainerMemory | null
  /** Clock in epoch ms; tests inject one. @default Date.now */
  readonly now?: () => number
  /** Disk-backed directory used when `diagnosticsDir` is on tmpfs. @default "/var/tmp/oomkit" */
  readonly fallbackRoot?: string
  /** How long a download may go without the client accepting bytes before it is cut off, in ms. @default 30000 */
  readonly idleTimeoutMs?: number
}

/** Why a snapshot may not be taken now. */
export interface SnapshotRefusal {
  readonly code: OomkitErrorCode
  readonly outcome: SnapshotOutcome
  readonly message: string
  /** Seconds for `Retry-After`, or null when waiting will not help. */
  readonly retryAfterSeconds: number | null
  /** Extra fields of the JSON error body. */
  readonly extra: Readonly<Record<string, unknown>>
}

/** Everything the guard weighed, with its verdict. */
export interface SnapshotAssessment {
  readonly dir: SnapshotDir | { readonly ok: null; readonly dir: string; readonly onTmpfs: boolean }
  readonly heapUsedBytes: number
  readonly neededBytes: number
  readonly expectedFileBytes: number
  readonly freeDiskBytes: number | null
  readonly headroom: Headroom
  readonly cooldownRemainingMs: number
  readonly inProgress: boolean
  /** null when a snapshot may be taken now (after `force`, when it was given). */
  readonly refusal: SnapshotRefusal | null
  /** True when `force` set aside a headroom or disk-space refusal. */
  readonly overridden: boolean
}

/** The `snapshot` section of the memory report. */
export interface SnapshotStatus {
  /** Always true: with `snapshot: false` the whole section is null. */
  readonly enabled: boolean
  readonly possible: boolean
  /** The refusal's error code, `"disabled"`, or null when possible. */
  readonly reason: string | null
  readonly neededBytes: number | null
  readonly headroomBytes: number | null
  readonly cooldownRemainingMs: number
  readonly inProgress: boolean
  readonly lastSnapshotAt: string | null
  readonly dir: string | null
  readonly dirOnTmpfs: boolean | null
}

const HEADROOM_RETRY_SECONDS = 60
const HINT = 'GET /debug/pprof/heap gives a sampled heap profile (live allocations by stack) at a fraction of the cost; ?force=1 takes the snapshot anyway'

/**
 * A download that took nothing for this long looks stalled to `Retry-After`. A client reading at
 * 64 KiB/s or more shows progress (a chunk taken) at least this often; a slower one is told when it
 * would be cut off, which is later than it could be by at most idleTimeoutMs.
 */
const STALL_HINT_MS = 1000

/**
 * Decides whether a heap snapshot may be taken now: one at a time, a cooldown between two, a
 * usable private directory off tmpfs, room on disk, and memory headroom for the snapshot's peak.
 * The lock is a flag, not a mutex: JavaScript runs one handler at a time, and the snapshot blocks
 * the event loop anyway.
 *
 * @example
 * const guard = new SnapshotGuard({ diagnosticsDir, cooldownMs: 60_000, allowTmpfs: false, procRoot: '/proc', logger, readContainer })
 * const a = guard.acquire(false)
 * if (a.refusal === null) try { ... } finally { guard.release() }
 */
export class SnapshotGuard {
  /** The clock (epoch ms) the cooldown runs on. */
  readonly now: () => number
  /** `oomkit_heap_snapshots_total{outcome}`, read at scrape time from the counts below. */
  readonly collector: Collector<Readonly<Record<SnapshotOutcome, number>>>
  readonly #counts = Object.fromEntries(SNAPSHOT_OUTCOMES.map((o) => [o, 0])) as Record<SnapshotOutcome, number>
  /** How long a download may go without progress before it is cut off, in ms. */
  readonly idleTimeoutMs: number
  #inProgress = false
  /** When the download in flight last made progress (epoch ms), or null when none runs. */
  #downloadProgressAt: number | null = null
  #lastSnapshotAt: number | null = null
  #dir: SnapshotDir | null = null

  constructor(readonly deps: SnapshotGuardDeps) {
    this.now = deps.now ?? Date.now
    this.idleTimeoutMs = deps.idleTimeoutMs ?? SNAPSHOT_DEFAULTS.idleTimeoutMs
    const counts = this.#counts
    this.collector = defineCollector({
      name: 'snapshot',
      read: () => counts,
      families: [
        {
          name: 'heap_snapshots_total',
          help: 'Heap snapshot requests by outcome (ok, aborted, refused_busy, refused_cooldown, refused_headroom, refused_dir, disk_full, error).',
          type: 'counter',
          values: (c) => SNAPSHOT_OUTCOMES.map((outcome) => ({ value: c[outcome], labels: { outcome } })),
        },
      ],
    })
  }

  /** Whether a snapshot is being written or downloaded now. */
  get inProgress(): boolean {
    return this.#inProgress
  }

  /** Prepares the directory and removes temp files a crashed run left there; logs what it removed. */
  start(): void {
    const dir = this.#prepare()
    if (!dir.ok) {
      this.deps.logger.warn({ code: dir.code, dir: dir.dir }, dir.message)
      return
    }
    const swept = sweepSnapshotDir(dir.dir)
    if (swept.files > 0) this.deps.logger.warn({ files: swept.files, bytes: swept.bytes, dir: dir.dir }, 'removed leftover heap snapshot temp files')
  }

  /**
   * Weighs a snapshot now. `prepare` creates and checks the directory (requests do); the report
   * only looks. `force` sets aside the headroom and disk-space estimates, never the lock, the
   * cooldown or an unusable directory.
   */
  assess(force: boolean, prepare: boolean): SnapshotAssessment {
    const now = this.now()
    const cooldownRemainingMs = this.#lastSnapshotAt === null ? 0 : Math.max(0, this.#lastSnapshotAt + this.deps.cooldownMs - now)
    const dir = prepare
      ? this.#prepare()
      : (this.#dir ?? { ok: null, ...plannedSnapshotDir(this.deps.diagnosticsDir, this.deps.allowTmpfs, this.#fallbackRoot) })
    const heapUsedBytes = readHeapUsed()
    const expectedFileBytes = Math.round(heapUsedBytes * FILE_BYTES_PER_HEAP_BYTE)
    // tmpfs pages are memory charged to this cgroup: the file competes with the snapshot's peak.
    const neededBytes = estimateSnapshotCost(readHeapCostInput()) + (dir.onTmpfs ? expectedFileBytes : 0)
    const headroom = computeHeadroom(this.deps.readContainer(), readHostAvailable(this.deps.procRoot))
    const free = freeDiskBytes(dir.dir)
    const base = { dir, heapUsedBytes, neededBytes, expectedFileBytes, freeDiskBytes: free, headroom, cooldownRemainingMs, inProgress: this.#inProgress }

    let refusal: SnapshotRefusal | null = null
    if (this.#inProgress) {
      const retryAfterSeconds = Math.max(1, Math.ceil(this.#busyForMs(now, cooldownRemainingMs) / 1000))
      const message = 'A heap snapshot is being taken or downloaded; one at a time'
      refusal = { code: 'OOMKIT_SNAPSHOT_IN_PROGRESS', outcome: 'refused_busy', message, retryAfterSeconds, extra: {} }
    } else if (cooldownRemainingMs > 0) {
      refusal = {
        code: 'OOMKIT_SNAPSHOT_COOLDOWN',
        outcome: 'refused_cooldown',
        message: `The last heap snapshot was ${Math.round((now - (this.#lastSnapshotAt ?? now)) / 1000)} s ago; the cooldown is ${this.deps.cooldownMs} ms`,
        retryAfterSeconds: Math.max(1, Math.ceil(cooldownRemainingMs / 1000)),
        extra: { cooldownRemainingMs },
      }
    } else if (dir.ok === false) {
      refusal = { code: dir.code, outcome: 'refused_dir', message: dir.message, retryAfterSeconds: null, extra: {} }
    }
    if (refusal !== null) return { ...base, refusal, overridden: false }

    let estimate: SnapshotRefusal | null = null
    if (free !== null && free < expectedFileBytes) {
      estimate = {
        code: 'OOMKIT_DISK_FULL',
        outcome: 'disk_full',
        message: `The snapshot file needs about ${expectedFileBytes} bytes and ${dir.dir} has ${free} free`,
        retryAfterSeconds: null,
        extra: { neededDiskBytes: expectedFileBytes, freeDiskBytes: free },
      }
    } else if (neededBytes > headroom.headroomBytes) {
      estimate = {
        code: 'OOMKIT_INSUFFICIENT_HEADROOM',
        outcome: 'refused_headroom',
        retryAfterSeconds: HEADROOM_RETRY_SECONDS,
        message: `A heap snapshot now needs about ${neededBytes} bytes of memory and only ${headroom.headroomBytes} are left before the ${headroom.source === 'cgroup' ? 'container limit' : "host's available memory"} is reached: taking it could get the process OOM-killed`,
        extra: { neededBytes, headroomBytes: headroom.headroomBytes, hint: HINT },
      }
    }
    return { ...base, refusal: force ? null : estimate, overridden: force && estimate !== null }
  }

  /** Takes the lock when a snapshot may be taken; the caller must `release()` it. */
  acquire(force: boolean): SnapshotAssessment {
    const a = this.assess(force, true)
    if (a.refusal === null) this.#inProgress = true
    return a
  }

  /** Records that V8 wrote a snapshot: the cooldown starts now, whatever happens to the download. */
  markTaken(): void {
    this.#lastSnapshotAt = this.now()
  }

  /** Records that the download of the written snapshot starts now. */
  downloadStarted(): void {
    this.#downloadProgressAt = this.now()
  }

  /** Records that the client took more of the download. */
  downloadProgress(): void {
    if (this.#downloadProgressAt !== null) this.#downloadProgressAt = this.now()
  }

  /** Frees the lock. */
  release(): void {
    this.#inProgress = false
    this.#downloadProgressAt = null
  }

  /** Counts one request's outcome. */
  count(outcome: SnapshotOutcome): void {
    this.#counts[outcome]++
  }

  /** The report's `snapshot` section: whether a GET now would take one, and the numbers why. */
  status(): SnapshotStatus {
    const a = this.assess(false, false)
    return {
      enabled: true,
      possible: a.refusal === null,
      reason: a.refusal?.code ?? null,
      neededBytes: a.neededBytes,
      headroomBytes: a.headroom.headroomBytes,
      cooldownRemainingMs: a.cooldownRemainingMs,
      inProgress: a.inProgress,
      lastSnapshotAt: this.#lastSnapshotAt === null ? null : new Date(this.#lastSnapshotAt).toISOString(),
      dir: a.dir.dir,
      dirOnTmpfs: a.dir.onTmpfs,
    }
  }

  /**
   * The earliest a snapshot could succeed while one is in flight, in ms from now: never before the
   * cooldown from this one has passed, nor before its download is over. While the client takes
   * bytes, the download could be over at any moment; once it has taken none for a while, it is over
   * when it is cut off (last progress + idleTimeoutMs), the longest a stalled download holds the slot.
   */
  #busyForMs(now: number, cooldownRemainingMs: number): number {
    const at = this.#downloadProgressAt
    // Not downloading: being written (the whole cooldown is still ahead) or just written (a slot
    // is only taken when no cooldown runs, so one running now started with this snapshot).
    if (at === null) return cooldownRemainingMs || this.deps.cooldownMs
    const quietMs = now - at
    return quietMs < STALL_HINT_MS ? cooldownRemainingMs : Math.max(cooldownRemainingMs, this.idleTimeoutMs - quietMs)
  }

  get #fallbackRoot(): string {
    return this.deps.fallbackRoot ?? FALLBACK_SNAPSHOT_ROOT
  }

  #prepare(): SnapshotDir {
    this.#dir = prepareSnapshotDir(this.deps.diagnosticsDir, this.deps.allowTmpfs, this.#fallbackRoot)
    return this.#dir
  }
}
