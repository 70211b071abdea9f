import { statfsSync } from 'node:fs'
import { freemem } from 'node:os'
import { afterAll, describe, expect, it } from 'vitest'
import type { ContainerMemory } from '../../../src/container/index.js'
import { TMPFS_MAGIC } from '../../../src/heap/snapshot/index.js'
import { SnapshotGuard, type SnapshotGuardDeps } from '../../../src/heap/snapshot/index.js'
import { computeHeadroom, readHostAvailable } from '../../../src/memory/headroom.js'
import { acceptsGzip, downloadName } from '../../../src/heap/snapshot/index.js'
import { requireOrSkip } from '../../helpers/require.js'
import { fixture } from '../../fixtures/cgroup/expected.js'
import { capture, removeTempDirs, shmPath, tempDir } from './helpers.js'

const MiB = 1024 * 1024
afterAll(removeTempDirs)
const shmIsTmpfs = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC
  } catch {
    return false
  }
})()

function container(limitBytes: number | null, workingSetBytes: number | null): ContainerMemory {
  return {
    cgroupVersion: 2,
    cgroupPath: '/',
    limitBytes,
    usageBytes: workingSetBytes,
    workingSetBytes,
    rssBytes: null,
    cacheBytes: null,
    inactiveFileBytes: null,
    oomKills: 0,
    pressure: null,
  }
}

function guard(overrides: Partial<SnapshotGuardDeps> = {}): { g: SnapshotGuard; clock: { t: number } } {
  const clock = { t: 1_000_000 }
  const g = new SnapshotGuard({
    diagnosticsDir: tempDir('guard'),
    cooldownMs: 60_000,
    allowTmpfs: false,
    procRoot: '/proc',
    logger: capture().logger,
    readContainer: () => null,
    now: () => clock.t,
    ...overrides,
  })
  return { g, clock }
}

describe('SnapshotGuard (injected clock)', () => {
  it('holds one lock, then a cooldown counted from when V8 wrote the snapshot', () => {
    const { g, clock } = guard()
    expect(g.acquire(false).refusal).toBeNull()
    const busy = g.acquire(false).refusal
    expect(busy).toMatchObject({ code: 'OOMKIT_SNAPSHOT_IN_PROGRESS', outcome: 'refused_busy', retryAfterSeconds: 60 })
    g.markTaken()
    clock.t += 10_000
    expect(g.acquire(false).refusal).toMatchObject({ code: 'OOMKIT_SNAPSHOT_IN_PROGRESS', retryAfterSeconds: 50 })
    g.release()
    // force never sets aside the cooldown.
    expect(g.acquire(true).refusal).toMatchObject({
      code: 'OOMKIT_SNAPSHOT_COOLDOWN',
      outcome: 'refused_cooldown',
      retryAfterSeconds: 50,
      extra: { cooldownRemainingMs: 50_000 },
    })
    clock.t += 49_001
    expect(g.assess(false, false).refusal).toMatchObject({ retryAfterSeconds: 1 })
    expect(g.status()).toMatchObject({ possible: false, cooldownRemainingMs: 999, lastSnapshotAt: new Date(1_010_000 - 10_000).toISOString() })
    clock.t += 999
    expect(g.status()).toMatchObject({ possible: true, reason: null, cooldownRemainingMs: 0, inProgress: false })
  })

  it('weighs neededBytes against limit − working set; force sets the refusal aside and says so', () => {
    const { g } = guard({ readContainer: () => container(256 * MiB, 256 * MiB - 5 * MiB) })
    const a = g.assess(false, true)
    expect(a.headroom).toMatchObject({ headroomBytes: 5 * MiB, source: 'cgroup', limitBytes: 256 * MiB })
    expect(a.refusal).toMatchObject({
      code: 'OOMKIT_INSUFFICIENT_HEADROOM',
      retryAfterSeconds: 60,
      extra: { neededBytes: a.neededBytes, headroomBytes: 5 * MiB },
    })
    expect(a.neededBytes).toBeGreaterThan(48_000_000)
    const forced = g.acquire(true)
    expect(forced.refusal).toBeNull()
    expect(forced.overridden).toBe(true)
    expect(g.inProgress).toBe(true)
  })

  it('counts the file against memory when it lands on tmpfs', () => {
    if (!requireOrSkip(shmIsTmpfs, '/dev/shm is not a tmpfs here')) return
    const onDisk = guard().g.assess(false, true)
    const onTmpfs = guard({ diagnosticsDir: shmPath('x'), allowTmpfs: true }).g.assess(false, true)
    expect(onTmpfs.dir).toMatchObject({ ok: true, onTmpfs: true })
    expect(onTmpfs.neededBytes - onDisk.neededBytes).toBeGreaterThan(onTmpfs.expectedFileBytes * 0.9)
  })
})

describe('headroom', () => {
  it('is limit − working set, capped by the host; the host alone without a limit', () => {
    expect(computeHeadroom(container(100, 30), 1000)).toEqual({
      headroomBytes: 70,
      source: 'cgroup',
      limitBytes: 100,
      workingSetBytes: 30,
      hostAvailableBytes: 1000,
    })
    expect(computeHeadroom(container(100, 130), 1000).headroomBytes).toBe(0)
    expect(computeHeadroom(container(10_000, 30), 1000).headroomBytes).toBe(1000)
    expect(computeHeadroom(container(null, 30), 1000)).toMatchObject({ headroomBytes: 1000, source: 'host' })
    expect(computeHeadroom(null, 1000)).toMatchObject({ headroomBytes: 1000, source: 'host', limitBytes: null })
  })

  it('reads MemAvailable, and falls back to os.freemem() where procRoot has no meminfo', () => {
    const host = readHostAvailable('/proc')
    expect(host % 1024).toBe(0)
    expect(Math.abs(host - freemem())).toBeLessThan(512 * MiB)
    const fromFixture = readHostAvailable(fixture('v2-limited-256m').procRoot)
    expect(Math.abs(fromFixture - freemem())).toBeLessThan(512 * MiB)
  })
})

describe('response helpers', () => {
  it('negotiates gzip by token and q', () => {
    expect(acceptsGzip(undefined)).toBe(false)
    expect(acceptsGzip('gzip')).toBe(true)
    expect(acceptsGzip('deflate, GZIP;q=0.8')).toBe(true)
    expect(acceptsGzip('gzip;q=0')).toBe(false)
    expect(acceptsGzip('x-gzip')).toBe(true)
    expect(acceptsGzip('br, deflate')).toBe(false)
    expect(acceptsGzip('gzipper')).toBe(false)
  })

  it('names the download heap-<pid>-<ISO 8601 basic>.heapsnapshot', () => {
    expect(downloadName(42, Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('heap-42-20250102T030405Z.heapsnapshot')
  })
})
