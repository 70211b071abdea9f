import { getHeapStatistics } from 'node:v8'
import { Registry } from 'prom-client'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { ContainerMemory } from '../../src/container/index.js'
import { createOomkit } from '../../src/index.js'
import { checkBudget } from '../../src/memory/budget.js'
import { roots } from '../fixtures/cgroup/expected.js'
import { internals } from '../../src/internal.js'

const MiB = 1024 * 1024

function container(limitBytes: number | null): ContainerMemory {
  return {
    cgroupVersion: 2, cgroupPath: '/', limitBytes, usageBytes: 100 * MiB, workingSetBytes: 90 * MiB,
    rssBytes: 80 * MiB, cacheBytes: 20 * MiB, inactiveFileBytes: 10 * MiB, oomKills: 0, pressure: null,
  }
}

// heap_size_limit of Node 20 started without flags in a 256 MiB cgroup, measured on the test
// machines (V8 sizes its heap from the cgroup limit and ends up above it); the real-cgroup test
// checks the verdict on a real process.
const NODE20_HEAP_LIMIT_IN_256MIB = 271_581_184

describe('checkBudget', () => {
  it('says a 259 MiB heap limit exceeds a 256 MiB container and what NODE_OPTIONS to set', () => {
    const b = checkBudget(NODE20_HEAP_LIMIT_IN_256MIB, container(256 * MiB), 0.75)
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

  it('reaches the kit\'s budget through the heapRatio option', () => {
    const kit = createOomkit({ ...roots('v2-limited-256m'), heapRatio: 0.5, logger: pino({ level: 'silent' }), registry: new Registry() })
    const heapLimit = getHeapStatistics().heap_size_limit
    expect(kit.budget).toEqual(checkBudget(heapLimit, { ...internals(kit).sampler.readContainer()! }, 0.5))
    expect(kit.budget.recommendedMaxOldSpaceSizeMb).toBe(128)
  })
})
