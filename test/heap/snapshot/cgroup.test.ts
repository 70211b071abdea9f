/**
 * The headroom guard against the kernel: a child process holding a heap of small objects, inside
 * a real cgroup v1 memory cgroup. Too small a cgroup: 503 with the numbers, and the child lives
 * on with no OOM kill. Enough room: the snapshot downloads, parses, and the child lives on.
 * Needs root (skips otherwise; a failure under OOMKIT_REQUIRE_ALL=1). The child runs dist/.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { MemoryCgroup, memoryCgroupsAvailable } from '../../helpers/cgroup.js'
import { get, jsonBody, keepAlive, parseSnapshot, removeTempDirs, tempDir } from './helpers.js'

const CHILD = fileURLToPath(new URL('../../fixtures/heap-child.mjs', import.meta.url))
const MiB = 1024 * 1024

interface Ready {
  readonly url: string
  readonly pid: number
  readonly heapUsed: number
}

const cgroups: MemoryCgroup[] = []
afterEach(async () => {
  for (const cg of cgroups.splice(0)) await cg.remove()
})
afterAll(() => {
  keepAlive.destroy()
  removeTempDirs()
})

/** Waits for the child's ready line; rejects with its stderr if it exits first. */
function ready(child: ChildProcessWithoutNullStreams): Promise<Ready> {
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`heap child not ready after 30 s: ${stderr}`)), 30_000)
    child.once('exit', (code, signal) => reject(new Error(`heap child exited (${code ?? signal}) before ready: ${stderr}`)))
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer)
      resolve(JSON.parse(line) as Ready)
    })
  })
}

function oomKills(cg: MemoryCgroup): number {
  const m = /^oom_kill (\d+)$/m.exec(cg.read('memory.oom_control'))
  return m === null ? 0 : Number(m[1])
}

describe.runIf(memoryCgroupsAvailable())('heap snapshot guard in a real memory cgroup', () => {
  it('refuses (503, neededBytes > headroomBytes) when the cgroup is too small, and the child survives', async () => {
    const cg = MemoryCgroup.create('oomkit-snapshot')
    cgroups.push(cg)
    const diag = tempDir('cgroup-diag')
    const child = cg.spawnNode(['--expose-gc', CHILD, '150', diag])
    const info = await ready(child)
    expect(info.heapUsed).toBeGreaterThan(150e6)
    // Room for the process as it is plus 300 MiB: far less than a 150 MB small-object heap's snapshot.
    const limit = cg.kernelReading().usageBytes + 300 * MiB
    cg.setLimit(limit)
    const killsBefore = oomKills(cg)

    const r = await get(`${info.url}/debug/heap`)
    expect(r.status).toBe(503)
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
    const body = jsonBody(r)
    expect(body.error).toBe('OOMKIT_INSUFFICIENT_HEADROOM')
    expect(body.hint).toMatch(/\/debug\/pprof\/heap/)
    const needed = body.neededBytes as number
    const headroom = body.headroomBytes as number
    expect(headroom).toBeGreaterThan(250 * MiB)
    expect(headroom).toBeLessThanOrEqual(310 * MiB)
    expect(needed).toBeGreaterThan(headroom * 3)

    const memory = await get(`${info.url}/debug/memory`)
    expect(memory.status).toBe(200)
    expect(jsonBody(memory)).toMatchObject({
      container: { cgroupVersion: 1, limitBytes: limit },
      snapshot: { possible: false, reason: 'OOMKIT_INSUFFICIENT_HEADROOM' },
    })
    expect(child.exitCode).toBeNull()
    expect(child.signalCode).toBeNull()
    expect(oomKills(cg)).toBe(killsBefore)
    expect(readdirSync(join(diag, 'snapshots'))).toEqual([])
  }, 60_000)

  it('takes the snapshot when the cgroup has room (4 GiB): it parses and the child survives', async () => {
    const cg = MemoryCgroup.create('oomkit-snapshot')
    cgroups.push(cg)
    cg.setLimit(4096 * MiB)
    const diag = tempDir('cgroup-diag')
    const child = cg.spawnNode(['--expose-gc', CHILD, '40', diag])
    const info = await ready(child)

    const r = await get(`${info.url}/debug/heap`, { headers: { 'accept-encoding': 'gzip' } })
    expect(r.status).toBe(200)
    expect(Number(r.headers['x-oomkit-needed-bytes'])).toBeLessThan(Number(r.headers['x-oomkit-headroom-bytes']))
    const snap = parseSnapshot(r.body, true)
    expect(snap.nodeCount).toBeGreaterThan(160_000)
    expect(snap.nodesFromArray).toBe(snap.nodeCount)
    expect(snap.edgesFromArray).toBe(snap.edgeCount)

    const memory = await get(`${info.url}/debug/memory`)
    expect(memory.status).toBe(200)
    expect(jsonBody(memory)).toMatchObject({ container: { limitBytes: 4096 * MiB, oomKills: 0 }, snapshot: { inProgress: false } })
    expect(child.exitCode).toBeNull()
    expect(oomKills(cg)).toBe(0)
    expect(readdirSync(join(diag, 'snapshots'))).toEqual([])
  }, 60_000)
})
