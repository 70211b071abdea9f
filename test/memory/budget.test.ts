import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { ContainerMemory } from '../../src/container/index.js'
import { createOomkit } from '../../src/index.js'
import { checkBudget, heapFlagSupport } from '../../src/memory/budget.js'
import { fixture, roots } from '../fixtures/cgroup/expected.js'
import { internals } from '../../src/internal.js'

const MiB = 1024 * 1024

function container(limitBytes: number | null): ContainerMemory {
  return {
    cgroupVersion: 2,
    cgroupPath: '/',
    limitBytes,
    usageBytes: 100 * MiB,
    workingSetBytes: 90 * MiB,
    rssBytes: 80 * MiB,
    cacheBytes: 20 * MiB,
    inactiveFileBytes: 10 * MiB,
    oomKills: 0,
    pressure: null,
  }
}

// heap_size_limit of Node 20 started without flags in a 256 MiB cgroup, measured on the test
// machines (V8 sizes its heap from the cgroup limit and ends up above it); the real-cgroup test
// checks the verdict on a real process.
const NODE20_HEAP_LIMIT_IN_256MIB = 271_581_184

describe('checkBudget', () => {
  it('says a 259 MiB heap limit exceeds a 256 MiB container and what NODE_OPTIONS to set', () => {
    const b = checkBudget(NODE20_HEAP_LIMIT_IN_256MIB, container(256 * MiB), 0.75, { percentage: false })
    expect(b).toMatchObject({
      verdict: 'heap-limit-exceeds-container',
      heapLimitBytes: NODE20_HEAP_LIMIT_IN_256MIB,
      containerLimitBytes: 256 * MiB,
      headroomBytes: 256 * MiB - NODE20_HEAP_LIMIT_IN_256MIB,
      recommendedMaxOldSpaceSizeMb: 192,
    })
    expect(b.message).toBe(
      'V8 heap limit 259 MiB exceeds the container limit 256 MiB: the kernel will kill the process before V8 reports an out-of-memory; set NODE_OPTIONS=--max-old-space-size=192',
    )
  })

  it('counts a heap limit equal to the container limit as exceeding it', () => {
    expect(checkBudget(256 * MiB, container(256 * MiB), 0.75).verdict).toBe('heap-limit-exceeds-container')
  })

  it('is ok when the heap limit fits, and says how much is left outside the heap', () => {
    const b = checkBudget(163 * MiB, container(256 * MiB), 0.75)
    expect(b).toMatchObject({ verdict: 'ok', headroomBytes: 93 * MiB, recommendedMaxOldSpaceSizeMb: 192 })
    expect(b.message).toBe('V8 heap limit 163 MiB fits the container limit 256 MiB, leaving 93 MiB for memory outside the JS heap')
  })

  it('has no verdict to give without a container limit', () => {
    const b = checkBudget(4144 * MiB, container(null), 0.75)
    expect(b).toMatchObject({ verdict: 'no-container-limit', containerLimitBytes: null, headroomBytes: null, recommendedMaxOldSpaceSizeMb: null })
    expect(b.message).toContain('No container memory limit')
    expect(b.message).toContain('4144 MiB')
  })

  it('is unknown without a memory cgroup', () => {
    const b = checkBudget(4144 * MiB, null, 0.75)
    expect(b).toMatchObject({ verdict: 'unknown', containerLimitBytes: null, recommendedMaxOldSpaceSizeMb: null })
    expect(b.message).toContain('No memory cgroup')
  })
})

describe('heapRatio', () => {
  it.each([
    [0.75, 512 * MiB, 384],
    [0.5, 512 * MiB, 256],
    [0.9, 512 * MiB, 460], // 460.8, rounded down: never recommend more than the ratio
    [0.1, 256 * MiB, 25],
    [0.95, 1024 * MiB, 972],
  ])('recommends heapRatio %f of %i bytes: %i MiB', (ratio, limit, mb) => {
    const b = checkBudget(4144 * MiB, container(limit), ratio)
    expect(b.recommendedMaxOldSpaceSizeMb).toBe(mb)
    expect(b.message).toContain(`--max-old-space-size=${mb}`)
  })

  it('never recommends less than 16 MiB', () => {
    expect(checkBudget(64 * MiB, container(16 * MiB), 0.5).recommendedMaxOldSpaceSizeMb).toBe(16)
  })

  it("reaches the kit's budget through the heapRatio option", () => {
    const kit = createOomkit({ ...roots('v2-limited-256m'), heapRatio: 0.5, logger: pino({ level: 'silent' }), registry: new Registry() })
    const heapLimit = getHeapStatistics().heap_size_limit
    expect(kit.budget).toEqual(checkBudget(heapLimit, { ...internals(kit).sampler.readContainer()! }, 0.5))
    expect(kit.budget.recommendedMaxOldSpaceSizeMb).toBe(128)
  })
})

describe("the budget for today's Node", () => {
  it('calls a heap limit under half the container limit "far below" it: V8 fails first while the container has room', () => {
    const b = checkBudget(256 * MiB, container(1024 * MiB), 0.75, { percentage: false })
    expect(b).toMatchObject({ verdict: 'heap-limit-far-below-container', recommendedMaxOldSpaceSizeMb: 768, recommendedFlag: '--max-old-space-size=768' })
    expect(b.message).toBe(
      'V8 heap limit 256 MiB is far below the container limit 1024 MiB: V8 will fail with "JavaScript heap out of memory" while the container still has room, and raising the container limit changes nothing; set NODE_OPTIONS=--max-old-space-size=768',
    )
    // Half or more is fine.
    expect(checkBudget(512 * MiB, container(1024 * MiB), 0.75, { percentage: false }).verdict).toBe('ok')
  })

  it('names --max-old-space-size-percentage where the running Node accepts it, and the MiB value for the others', () => {
    const b = checkBudget(NODE20_HEAP_LIMIT_IN_256MIB, container(256 * MiB), 0.75, { percentage: true })
    expect(b.recommendedFlag).toBe('--max-old-space-size-percentage=75')
    expect(b.message).toBe(
      'V8 heap limit 259 MiB exceeds the container limit 256 MiB: the kernel will kill the process before V8 reports an out-of-memory; ' +
        'set NODE_OPTIONS=--max-old-space-size-percentage=75 (it follows the limit when it changes; --max-old-space-size=192 on Nodes without it)',
    )
  })

  it('asks the running Node which flags it accepts (22.21+ and 24 take the percentage; 20 does not)', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
    // Node 20, 22 and 24 are what CI runs: 22 gained the flag in 22.21, 24 has it.
    const expected = major >= 24 || (major === 22 && minor >= 21)
    expect(heapFlagSupport().percentage).toBe(expected)
  })

  it('checks again when the container limit changes at run time, and logs the new verdict once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oomkit-budget-'))
    try {
      cpSync(fixture('v2-limited-256m').root, dir, { recursive: true })
      const max = join(dir, 'sys/fs/cgroup/memory.max')
      const lines: Record<string, unknown>[] = []
      const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) })
      const kit = createOomkit({
        cgroupRoot: join(dir, 'sys/fs/cgroup'),
        procRoot: join(dir, 'proc'),
        logger,
        registry: new Registry(),
        sampleIntervalMs: 100,
        logIntervalMs: 0,
      }).start()
      try {
        const verdicts = (): unknown[] => lines.filter((l) => 'verdict' in l).map((l) => l.verdict)
        expect(kit.budget.containerLimitBytes).toBe(256 * MiB)
        // An in-place resize far above the heap limit of this test process.
        writeFileSync(max, `${64 * getHeapStatistics().heap_size_limit}\n`)
        await new Promise((r) => setTimeout(r, 400))
        expect(kit.budget.containerLimitBytes).toBe(64 * getHeapStatistics().heap_size_limit)
        expect(kit.budget.verdict).toBe('heap-limit-far-below-container')
        expect(verdicts()).toEqual(['heap-limit-exceeds-container', 'heap-limit-far-below-container'])
        writeFileSync(max, 'max\n')
        await new Promise((r) => setTimeout(r, 400))
        expect(verdicts()).toEqual(['heap-limit-exceeds-container', 'heap-limit-far-below-container', 'no-container-limit'])
      } finally {
        await kit.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
