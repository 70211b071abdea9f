/**
 * A full filesystem: the diagnostics directory on a 2 MiB tmpfs (mounted for the test, root only).
 * The estimate refuses up front with 507 without blocking; `?force=1` makes V8 really hit ENOSPC:
 * 507 again, no partial file left, the lock released and the service still answering.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../../src/index.js'
import { SnapshotWriteError, openValidated } from '../../../src/heap/snapshot/index.js'
import { requireOrSkip } from '../../helpers/require.js'
import { capture, get, jsonBody, keepAlive, openFilesIn, removeTempDirs, snapshotCount, tempDir } from './helpers.js'

const isRoot = process.getuid?.() === 0
let mountpoint: string | null = null
let kit: Oomkit | null = null

function mountTmpfs(size: string): string {
  const dir = tempDir('tmpfs')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir])
  mountpoint = dir
  return dir
}

afterAll(async () => {
  await kit?.stop()
  keepAlive.destroy()
  if (mountpoint !== null) {
    execFileSync('umount', [mountpoint])
    rmdirSync(mountpoint)
  }
  removeTempDirs()
})

describe.runIf(requireOrSkip(isRoot, 'mounting a small tmpfs to fill up needs root'))('heap snapshot on a full filesystem', () => {
  it('answers 507 (estimated, then real ENOSPC with force), leaves nothing behind, and keeps serving', async () => {
    const diag = mountTmpfs('2m')
    const dir = join(diag, 'snapshots')
    const registry = new Registry()
    const { logger, lines } = capture()
    kit = createOomkit({
      logger,
      registry,
      logIntervalMs: 0,
      sampleIntervalMs: 60_000,
      defaultMetrics: false,
      diagnosticsDir: diag,
      snapshot: { cooldownMs: 60_000, allowTmpfs: true },
    }).start()
    const url = `${(await kit.listen({ port: 0 })).url}/debug/heap`
    expect(kit.report().snapshot).toMatchObject({ dir, dirOnTmpfs: true, possible: false, reason: 'OOMKIT_DISK_FULL' })

    const estimated = await get(url)
    expect(estimated.status).toBe(507)
    const body = jsonBody(estimated)
    expect(body.error).toBe('OOMKIT_DISK_FULL')
    expect(body.neededDiskBytes as number).toBeGreaterThan(body.freeDiskBytes as number)
    expect(lines.some((l) => l.msg === 'heap snapshot starting')).toBe(false)

    const forced = await get(`${url}?force=1`)
    expect(forced.status).toBe(507)
    expect(jsonBody(forced)).toMatchObject({ error: 'OOMKIT_DISK_FULL', message: expect.stringMatching(/ENOSPC/) as string })
    expect(lines.some((l) => l.msg === 'heap snapshot starting')).toBe(true)
    expect(lines.find((l) => l.msg === 'heap snapshot failed: the filesystem is full')).toBeDefined()
    expect(readdirSync(dir)).toEqual([])
    // Node's writeHeapSnapshot leaks its descriptor on ENOSPC; oomkit closes it, or the blocks stay taken.
    expect(openFilesIn(diag)).toEqual([])
    expect(statfsSync(diag).bfree).toBeGreaterThan(statfsSync(diag).blocks - 4)
    expect(await snapshotCount(registry, 'disk_full')).toBe(2)

    // Alive, and the lock is free: the next snapshot waits for the cooldown, not for a stuck one.
    expect((await get(kit.server!.url + '/debug/memory')).status).toBe(200)
    const next = await get(url)
    expect(next.status).toBe(429)
    expect(jsonBody(next).error).toBe('OOMKIT_SNAPSHOT_COOLDOWN')
  })

  it('takes a truncated file on a full filesystem for a full disk, and on a roomy one for a failure', () => {
    const mnt = mountpoint ?? mountTmpfs('2m')
    const full = join(mnt, 'truncated.heapsnapshot')
    const head = '{"snapshot":{"meta":{"node_fields":["type"'
    writeFileSync(full, head, { mode: 0o600 })
    try {
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(4 * 1024 * 1024))
    } catch {
      // ENOSPC: that was the point.
    }
    expect(statfsSync(mnt).bavail).toBe(0)
    expect(() => openValidated(full, mnt)).toThrow(expect.objectContaining({ diskFull: true }) as SnapshotWriteError)

    const roomy = join(tempDir('roomy'), 'truncated.heapsnapshot')
    writeFileSync(roomy, head, { mode: 0o600 })
    expect(() => openValidated(roomy, roomy)).toThrow(
      expect.objectContaining({ diskFull: false, message: expect.stringMatching(/incomplete/) as string }) as SnapshotWriteError,
    )
    writeFileSync(roomy, '', { mode: 0o600 })
    expect(() => openValidated(roomy, roomy)).toThrow(/incomplete heap snapshot \(0 bytes/)
  })
})
