// oomkit_memory_budget_info: the budget verdict as one series, read at scrape time, so that an
// alert (examples/kubernetes/prometheusrule.yaml) can catch a heap limit that does not fit.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Oomkit, createOomkit } from '../../src/index.js'
import { internals } from '../../src/internal.js'
import { BUDGET_VERDICTS } from '../../src/metrics/index.js'
import { fixture, roots } from '../fixtures/cgroup/expected.js'

const MiB = 1024 * 1024
const kits: Oomkit[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(kits.splice(0).map((k) => k.stop()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function start(options: Parameters<typeof createOomkit>[0]): { kit: Oomkit; registry: Registry } {
  const registry = new Registry()
  const kit = createOomkit({ logger: pino({ level: 'silent' }), registry, logIntervalMs: 0, defaultMetrics: false, ...options }).start()
  kits.push(kit)
  return { kit, registry }
}

/** The `oomkit_memory_budget_info` sample lines of a scrape. */
async function budgetLines(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith('oomkit_memory_budget_info'))
}

/** The verdict the README's table gives for this heap limit and container limit. */
function expectedVerdict(heapLimit: number, limit: number): string {
  if (heapLimit >= limit) return 'heap-limit-exceeds-container'
  if (heapLimit < limit / 2) return 'heap-limit-far-below-container'
  return 'ok'
}

/** The flag the advice names for this limit and ratio, on the running Node. */
function expectedFlag(limit: number, ratio: number): string {
  return process.allowedNodeEnvironmentFlags.has('--max-old-space-size-percentage')
    ? `--max-old-space-size-percentage=${Math.round(ratio * 100)}`
    : `--max-old-space-size=${Math.floor((limit * ratio) / MiB)}`
}

describe('oomkit_memory_budget_info', () => {
  it('is one series with the verdict and the recommended flag for a 256 MiB container', async () => {
    const { registry } = start({ ...roots('v2-limited-256m'), heapRatio: 0.5 })
    const verdict = expectedVerdict(getHeapStatistics().heap_size_limit, 256 * MiB)
    expect(await budgetLines(registry)).toEqual([`oomkit_memory_budget_info{verdict="${verdict}",recommended_flag="${expectedFlag(256 * MiB, 0.5)}"} 1`])
    expect(BUDGET_VERDICTS).toContain(verdict)
  })

  it('says no-container-limit without a limit, and unknown without a memory cgroup, with no flag', async () => {
    const unlimited = start(roots('v2-unlimited'))
    expect(await budgetLines(unlimited.registry)).toEqual(['oomkit_memory_budget_info{verdict="no-container-limit"} 1'])
    const none = start(roots('no-cgroupfs'))
    expect(await budgetLines(none.registry)).toEqual(['oomkit_memory_budget_info{verdict="unknown"} 1'])
  })

  it('follows an in-place resize: still one series, now with the new verdict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oomkit-budget-'))
    dirs.push(dir)
    cpSync(fixture('v2-limited-256m').root, dir, { recursive: true })
    const cgroupRoot = join(dir, 'sys/fs/cgroup')
    const heapLimit = getHeapStatistics().heap_size_limit
    // Start with a limit the heap limit exceeds, then resize to one it fits well (ok).
    writeFileSync(join(cgroupRoot, 'memory.max'), `${Math.floor(heapLimit / 2)}\n`)
    const { kit, registry } = start({ cgroupRoot, procRoot: join(dir, 'proc'), heapRatio: 0.75 })
    expect(await budgetLines(registry)).toEqual([
      `oomkit_memory_budget_info{verdict="heap-limit-exceeds-container",recommended_flag="${expectedFlag(Math.floor(heapLimit / 2), 0.75)}"} 1`,
    ])
    const resized = Math.ceil(heapLimit * 1.25)
    writeFileSync(join(cgroupRoot, 'memory.max'), `${resized}\n`)
    internals(kit).tick()
    expect(kit.budget.verdict).toBe('ok')
    expect(await budgetLines(registry)).toEqual([`oomkit_memory_budget_info{verdict="ok",recommended_flag="${expectedFlag(resized, 0.75)}"} 1`])
  })
})
