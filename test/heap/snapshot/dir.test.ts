import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { FALLBACK_SNAPSHOT_ROOT, TMPFS_MAGIC, isOnTmpfs, plannedSnapshotDir, prepareSnapshotDir } from '../../../src/heap/snapshot/index.js'
import { SnapshotGuard } from '../../../src/heap/snapshot/index.js'
import { requireOrSkip } from '../../helpers/require.js'
import { capture, get, jsonBody, keepAlive, removeTempDirs, shmPath, snapshotCount, startKit, stopKits, tempDir } from './helpers.js'

afterEach(stopKits)
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

const shmIsTmpfs = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC
  } catch {
    return false
  }
})()

describe('directory and lifecycle', () => {
  it('sweeps leftover temp files at start and logs count and bytes', async () => {
    const diag = tempDir('sweep')
    const dir = join(diag, 'snapshots')
    mkdirSync(dir, { mode: 0o700 })
    writeFileSync(join(dir, `heap-${process.pid}-1700000000000-aa11.heapsnapshot`), 'x'.repeat(1000))
    writeFileSync(join(dir, 'heap-999999999-1700000000000-bb22.heapsnapshot'), 'y'.repeat(234))
    // Another live process's snapshot in flight, and a file that is not a snapshot: both stay.
    writeFileSync(join(dir, `heap-${process.ppid}-1700000000000-cc33.heapsnapshot`), 'z')
    writeFileSync(join(dir, 'notes.txt'), 'keep')
    const t = await startKit({}, undefined, diag)
    expect(readdirSync(dir).sort()).toEqual([`heap-${process.ppid}-1700000000000-cc33.heapsnapshot`, 'notes.txt'])
    expect(t.lines.find((l) => l.msg === 'removed leftover heap snapshot temp files')).toMatchObject({ files: 2, bytes: 1234, dir })
  })

  it('repairs a loose directory mode and refuses a symlinked directory with 503', async () => {
    const loose = tempDir('loose')
    mkdirSync(join(loose, 'snapshots'))
    chmodSync(join(loose, 'snapshots'), 0o755)
    await startKit({}, undefined, loose)
    expect(statSync(join(loose, 'snapshots')).mode & 0o777).toBe(0o700)

    const diag = tempDir('symlink')
    const elsewhere = tempDir('elsewhere')
    symlinkSync(elsewhere, join(diag, 'snapshots'))
    const t = await startKit({}, undefined, diag)
    const r = await get(t.url)
    expect(r.status).toBe(503)
    expect(jsonBody(r)).toMatchObject({ error: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE' })
    expect(jsonBody(r).message).toMatch(/symbolic link/)
    expect(readdirSync(elsewhere)).toEqual([])
    expect(await snapshotCount(t.registry, 'refused_dir')).toBe(1)
    expect(t.kit.report().snapshot).toMatchObject({ possible: false, reason: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE' })
  })

  it('snapshot: false leaves the route, the counter and the report section out', async () => {
    const t = await startKit({ snapshot: false })
    expect((await get(t.url)).status).toBe(404)
    expect(t.registry.getSingleMetric('oomkit_heap_snapshots_total')).toBeUndefined()
    expect(t.kit.report().snapshot).toBeNull()
  })

  it('registers the counter with every outcome at 0 and takes it out at stop', async () => {
    const t = await startKit()
    const text = await t.registry.metrics()
    for (const o of ['ok', 'aborted', 'refused_busy', 'refused_cooldown', 'refused_headroom', 'refused_dir', 'disk_full', 'error']) {
      expect(text).toContain(`oomkit_heap_snapshots_total{outcome="${o}"} 0`)
    }
    await t.kit.stop()
    expect(t.registry.getSingleMetric('oomkit_heap_snapshots_total')).toBeUndefined()
  })
})

describe('snapshot directory rules', () => {
  it('falls back from a tmpfs diagnosticsDir to a disk one, and refuses when both are tmpfs', () => {
    if (!requireOrSkip(shmIsTmpfs, '/dev/shm is not a tmpfs here')) return
    const shm = shmPath('shm')
    const disk = tempDir('fallback')
    expect(isOnTmpfs(join(shm, 'not/yet/created'))).toBe(true)
    expect(plannedSnapshotDir(shm, false, disk)).toEqual({ dir: join(disk, 'snapshots'), onTmpfs: false })
    expect(existsSync(join(disk, 'snapshots'))).toBe(false)
    expect(prepareSnapshotDir(shm, false, disk)).toEqual({ ok: true, dir: join(disk, 'snapshots'), onTmpfs: false, fallback: true })
    expect(prepareSnapshotDir(shm, true, disk)).toEqual({ ok: true, dir: join(shm, 'snapshots'), onTmpfs: true, fallback: false })
    const neverCreated = shmPath('fallback-never-created')
    const both = prepareSnapshotDir(shm, false, neverCreated)
    expect(both).toMatchObject({ ok: false, code: 'OOMKIT_SNAPSHOT_DIR_TMPFS', onTmpfs: true })
    const g = new SnapshotGuard({
      diagnosticsDir: shm,
      fallbackRoot: neverCreated,
      cooldownMs: 0,
      allowTmpfs: false,
      procRoot: '/proc',
      logger: capture().logger,
      readContainer: () => null,
    })
    expect(g.acquire(true).refusal).toMatchObject({ code: 'OOMKIT_SNAPSHOT_DIR_TMPFS', outcome: 'refused_dir', retryAfterSeconds: null })
    expect(g.status()).toMatchObject({ possible: false, reason: 'OOMKIT_SNAPSHOT_DIR_TMPFS', dirOnTmpfs: true })
    expect(FALLBACK_SNAPSHOT_ROOT).toBe('/var/tmp/oomkit')
  })

  it('refuses a parent writable by others without the sticky bit, and accepts it with', () => {
    const parent = tempDir('shared')
    chmodSync(parent, 0o777)
    expect(prepareSnapshotDir(parent, false)).toMatchObject({
      ok: false,
      code: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE',
      message: expect.stringMatching(/writable by others/) as string,
    })
    chmodSync(parent, 0o1777)
    expect(prepareSnapshotDir(parent, false)).toMatchObject({ ok: true, dir: join(parent, 'snapshots') })
    expect(statSync(join(parent, 'snapshots')).mode & 0o777).toBe(0o700)
  })

  it('refuses a snapshots directory owned by another user', () => {
    if (!requireOrSkip(process.getuid?.() === 0, 'chown to another user needs root')) return
    const parent = tempDir('owned')
    mkdirSync(join(parent, 'snapshots'), { mode: 0o700 })
    chownSync(join(parent, 'snapshots'), 65534, 65534)
    expect(prepareSnapshotDir(parent, false)).toMatchObject({
      ok: false,
      code: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE',
      message: expect.stringMatching(/belongs to uid 65534/) as string,
    })
  })
})
