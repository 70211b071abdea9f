/**
 * The guard while a download runs, on an injected clock: what `Retry-After` says to a request that
 * finds the slot taken, and the `snapshot.idleTimeoutMs` option that bounds a stalled download.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { resolveOptions } from '../../../src/config.js'
import { SnapshotGuard } from '../../../src/heap/snapshot/index.js'
import { OomkitError } from '../../../src/index.js'
import { capture, removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

function guard(cooldownMs: number, idleTimeoutMs: number): { g: SnapshotGuard; clock: { t: number } } {
  const clock = { t: 5_000_000 }
  const g = new SnapshotGuard({
    diagnosticsDir: tempDir('guard-dl'),
    cooldownMs,
    idleTimeoutMs,
    allowTmpfs: false,
    procRoot: '/proc',
    logger: capture().logger,
    readContainer: () => null,
    now: () => clock.t,
  })
  return { g, clock }
}

/** Takes the slot, "writes" the snapshot and starts its download, as the route does. */
function downloading(g: SnapshotGuard): void {
  expect(g.acquire(true).refusal).toBeNull()
  g.markTaken()
  g.downloadStarted()
}

const retryAfter = (g: SnapshotGuard): number | null | undefined => g.assess(false, false).refusal?.retryAfterSeconds

describe('Retry-After while a download runs (injected clock)', () => {
  it('while the client takes bytes: the cooldown left (the download could end at any moment)', () => {
    const { g, clock } = guard(10_000, 30_000)
    downloading(g)
    for (let i = 0; i < 8; i++) {
      clock.t += 500
      g.downloadProgress()
    }
    expect(g.assess(false, false).refusal).toMatchObject({ code: 'OOMKIT_SNAPSHOT_IN_PROGRESS', outcome: 'refused_busy' })
    expect(retryAfter(g)).toBe(6)
  })

  it('once it has taken nothing for a second: when it will be cut off, if that is after the cooldown', () => {
    const { g, clock } = guard(1000, 30_000)
    downloading(g)
    clock.t += 400
    g.downloadProgress()
    clock.t += 999
    // Just progressing: only the cooldown's last second (at least 1).
    expect(retryAfter(g)).toBe(1)
    clock.t += 1
    // Quiet for 1 s: cut off at last progress + 30 s, 29 s from now.
    expect(retryAfter(g)).toBe(29)
    clock.t += 20_000
    expect(retryAfter(g)).toBe(9)
    // The client reads again: could be over at any moment.
    g.downloadProgress()
    expect(retryAfter(g)).toBe(1)
  })

  it('never less than the cooldown left, never more than the larger of the cooldown and the idle timeout', () => {
    const { g, clock } = guard(120_000, 10_000)
    downloading(g)
    clock.t += 3000
    expect(retryAfter(g)).toBe(117)
    const other = guard(0, 10_000)
    downloading(other.g)
    for (const step of [0, 1000, 5000, 9000, 20_000]) {
      other.clock.t += step
      const seconds = retryAfter(other.g) ?? 0
      expect(seconds).toBeGreaterThanOrEqual(1)
      expect(seconds).toBeLessThanOrEqual(10)
    }
  })

  it('being written (no download yet): the whole cooldown, as before', () => {
    const { g } = guard(60_000, 30_000)
    expect(g.acquire(false).refusal).toBeNull()
    expect(retryAfter(g)).toBe(60)
  })

  it('released: the download is forgotten, the cooldown alone answers', () => {
    const { g, clock } = guard(5000, 30_000)
    downloading(g)
    clock.t += 2000
    g.release()
    expect(g.assess(false, false).refusal).toMatchObject({ code: 'OOMKIT_SNAPSHOT_COOLDOWN', retryAfterSeconds: 3 })
  })
})

describe('snapshot.idleTimeoutMs', () => {
  it('defaults to 30000 and takes integers from 1000 to 600000', () => {
    expect(resolveOptions({}).snapshot).toMatchObject({ idleTimeoutMs: 30_000 })
    expect(resolveOptions({ snapshot: { cooldownMs: 0 } }).snapshot).toMatchObject({ idleTimeoutMs: 30_000 })
    expect(resolveOptions({ snapshot: { idleTimeoutMs: 1000 } }).snapshot).toMatchObject({ idleTimeoutMs: 1000 })
    expect(resolveOptions({ snapshot: { idleTimeoutMs: 600_000 } }).snapshot).toMatchObject({ idleTimeoutMs: 600_000 })
  })

  it.each([999, 600_001, 1500.5, '30s', -1, null])('%j throws OOMKIT_INVALID_OPTION naming snapshot.idleTimeoutMs', (value) => {
    let error: unknown
    try {
      resolveOptions({ snapshot: { idleTimeoutMs: value as number } })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(OomkitError)
    expect(error).toMatchObject({ code: 'OOMKIT_INVALID_OPTION' })
    expect((error as Error).message).toMatch(/snapshot\.idleTimeoutMs: expected an integer from 1000 to 600000/)
  })
})
