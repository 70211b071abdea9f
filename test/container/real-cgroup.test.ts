import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Budget } from '../../src/memory/budget.js'
import type { ContainerSection } from '../../src/memory/report.js'
import { type KernelReading, MemoryCgroup, memoryCgroupsAvailable } from '../helpers/cgroup.js'
import { heapFlagSupport } from '../../src/memory/budget.js'

const MiB = 1024 * 1024
const LIMIT = 256 * MiB
const CHILD = fileURLToPath(new URL('../fixtures/child-report.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/src/index.js', import.meta.url))

interface Ready {
  type: 'ready'
  pid: number
  heapSizeLimit: number
  retainedBuffersBytes: number
}
interface Report {
  type: 'report'
  container: ContainerSection | null
  budget: Budget
  heapSizeLimit: number
}

/** The child's stdout as a queue of JSON messages; fails loudly if the child dies. */
class Conversation {
  readonly #queue: unknown[] = []
  readonly #waiters: ((m: unknown) => void)[] = []
  #stderr = ''
  #exited: string | null = null

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message: unknown = JSON.parse(line)
      const waiter = this.#waiters.shift()
      if (waiter) waiter(message)
      else this.#queue.push(message)
    })
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString()
    })
    child.once('exit', (code, signal) => {
      this.#exited = `child exited (code ${code}, signal ${signal})`
    })
  }

  next<T>(type: string, timeoutMs = 15_000): Promise<T> {
    const queued = this.#queue.shift()
    if (queued !== undefined) return Promise.resolve(this.#check<T>(queued, type))
    return new Promise<T>((resolve, reject) => {
      const onExit = (): void => {
        clearTimeout(timer)
        reject(new Error(`${this.#exited ?? 'child exited'} while waiting for "${type}"; stderr:\n${this.#stderr}`))
      }
      const timer = setTimeout(() => {
        this.child.off('exit', onExit)
        reject(new Error(`no "${type}" message from the child in ${timeoutMs} ms; stderr:\n${this.#stderr}`))
      }, timeoutMs)
      this.child.once('exit', onExit)
      this.#waiters.push((m) => {
        clearTimeout(timer)
        this.child.off('exit', onExit)
        try {
          resolve(this.#check<T>(m, type))
        } catch (err) {
          reject(err as Error)
        }
      })
    })
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`)
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.send('exit')
    await exited
  }

  #check<T>(m: unknown, type: string): T {
    if ((m as { type?: string }).type !== type) throw new Error(`expected a "${type}" message, got ${JSON.stringify(m)}`)
    return m as T
  }
}

describe.runIf(memoryCgroupsAvailable())('a real cgroup v1 memory cgroup limited to 256 MiB', () => {
  let cg: MemoryCgroup

  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx tsc -p tsconfig.build.json; npm test does it)`)
    cg = MemoryCgroup.create()
    cg.setLimit(LIMIT)
  })

  afterAll(async () => {
    // Kills whatever still runs in it, then removes it, even when a test failed.
    await cg?.remove()
  })

  it('the kernel took the limit exactly', () => {
    expect(cg.limitBytes()).toBe(268435456)
  })

  it("a child in it reports the exact limit, the kernel's working set, and that V8's heap limit exceeds it", async () => {
    const talk = new Conversation(cg.spawnNode([CHILD]))
    const ready = await talk.next<Ready>('ready')
    // The shell exec'd node, so the pid is the one we started, and it is a member of the cgroup.
    expect(ready.pid).toBe(talk.child.pid)
    expect(readFileSync(`/proc/${ready.pid}/cgroup`, 'utf8')).toMatch(new RegExp(`^\\d+:memory:${cg.cgroupPath}$`, 'm'))
    expect(cg.pids()).toContain(ready.pid)

    // Bracket the child's reading between two kernel readings taken from outside. A reading
    // taken while the child is still settling (GC, lazy page faults) can move more than the
    // tolerance between the brackets; then try again.
    const attempts: { before: KernelReading; reported: number; after: KernelReading }[] = []
    let report: Report | null = null
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = cg.kernelReading()
      talk.send('report')
      const r = await talk.next<Report>('report')
      const after = cg.kernelReading()
      attempts.push({ before, reported: r.container?.workingSetBytes ?? -1, after })
      report = r
      if (Math.abs(after.workingSetBytes - before.workingSetBytes) <= 2 * MiB) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const last = attempts.at(-1)!
    const low = Math.min(last.before.workingSetBytes, last.after.workingSetBytes)
    const high = Math.max(last.before.workingSetBytes, last.after.workingSetBytes)
    const detail = JSON.stringify(attempts, null, 1)
    console.info(
      `working set: kernel ${last.before.workingSetBytes} .. ${last.after.workingSetBytes}, child reported ${last.reported} (attempt ${attempts.length})`,
    )

    const c = report!.container!
    expect(c, detail).not.toBeNull()
    expect(c.cgroupVersion).toBe(1)
    expect(c.cgroupPath).toBe(cg.cgroupPath)
    expect(c.limitBytes).toBe(268435456)
    expect(high - low, `the kernel's working set kept moving: ${detail}`).toBeLessThanOrEqual(2 * MiB)
    expect(c.workingSetBytes!, detail).toBeGreaterThanOrEqual(low - 2 * MiB)
    expect(c.workingSetBytes!, detail).toBeLessThanOrEqual(high + 2 * MiB)
    // The child holds its 80 MiB of filled Buffers: the reading is the real thing, not an empty cgroup.
    expect(c.workingSetBytes!).toBeGreaterThan(ready.retainedBuffersBytes)
    expect(c.utilization).toBe(c.workingSetBytes! / 268435456)
    expect(c.oomKills).toBe(0)

    const b = report!.budget
    expect(b.verdict).toBe('heap-limit-exceeds-container')
    expect(b.heapLimitBytes).toBe(report!.heapSizeLimit)
    expect(b.heapLimitBytes).toBeGreaterThanOrEqual(268435456)
    expect(b.containerLimitBytes).toBe(268435456)
    expect(b.recommendedMaxOldSpaceSizeMb).toBe(192)
    // Node 22.21+ and 24 take --max-old-space-size-percentage, and the advice names it first; the MiB value is always there.
    expect(b.message).toContain(`NODE_OPTIONS=${heapFlagSupport().percentage ? '--max-old-space-size-percentage=75' : '--max-old-space-size=192'}`)
    expect(b.message).toContain('--max-old-space-size=192')
    await talk.exit()
    expect(talk.child.exitCode).toBe(0)
  })

  it('a child started with --max-old-space-size=160 fits: verdict ok', async () => {
    // The first child has exited: two of them would not fit in 256 MiB together.
    const talk = new Conversation(cg.spawnNode(['--max-old-space-size=160', CHILD]))
    await talk.next<Ready>('ready')
    talk.send('report')
    const report = await talk.next<Report>('report')
    expect(report.container!.limitBytes).toBe(268435456)
    expect(report.budget.verdict).toBe('ok')
    expect(report.budget.heapLimitBytes).toBe(report.heapSizeLimit)
    expect(report.budget.heapLimitBytes).toBeLessThan(268435456)
    expect(report.budget.headroomBytes).toBe(268435456 - report.heapSizeLimit)
    await talk.exit()
  })

  it('checks the budget again when the limit changes while the process runs (an in-place resize), and logs the new verdict once', async () => {
    const talk = new Conversation(cg.spawnNode(['--max-old-space-size=160', CHILD], { env: { ...process.env, OOMKIT_TEST_SAMPLE_MS: '200' } }))
    let stderr = ''
    talk.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    await talk.next<Ready>('ready')
    talk.send('report')
    expect((await talk.next<Report>('report')).budget.verdict).toBe('ok')
    try {
      // A VPA-style resize to 1 GiB: a 176 MB heap limit is now far below it.
      cg.setLimit(1024 * MiB)
      await new Promise((r) => setTimeout(r, 800))
      talk.send('report')
      const after = (await talk.next<Report>('report')).budget
      expect(after.containerLimitBytes).toBe(1024 * MiB)
      expect(after.verdict).toBe('heap-limit-far-below-container')
      expect(after.recommendedMaxOldSpaceSizeMb).toBe(768)
      expect(after.message).toContain('--max-old-space-size=768')
      const lines = stderr.split('\n').filter((l) => l.includes('"verdict":"heap-limit-far-below-container"'))
      expect(lines.length).toBe(1)
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, limit: 1024 * MiB, recommendedMaxOldSpaceSizeMb: 768 })
    } finally {
      cg.setLimit(LIMIT)
      await talk.exit()
    }
  })
})
