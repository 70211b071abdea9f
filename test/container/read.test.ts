import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type CgroupLocation, locateMemoryCgroup, readContainerMemory, workingSet } from '../../src/container/index.js'
import { EXPECTED, fixture } from '../fixtures/cgroup/expected.js'
import { requireOrSkip } from '../helpers/require.js'

function locate(name: string): CgroupLocation {
  const f = fixture(name)
  const location = locateMemoryCgroup(f.procRoot, f.cgroupRoot)
  if (location === null) throw new Error(`fixture ${name} has no memory cgroup`)
  return location
}

const readable = Object.entries(EXPECTED).filter(([, e]) => e.memory !== null)

describe('readContainerMemory on the fixture trees', () => {
  it.each(readable)('%s reads what its README says', (name, expected) => {
    expect(readContainerMemory(locate(name))).toEqual(expected.memory)
  })

  it('floors the working set at 0 when inactive_file exceeds usage (v2-floor-zero)', () => {
    const m = readContainerMemory(locate('v2-floor-zero'))
    expect(m.inactiveFileBytes!).toBeGreaterThan(m.usageBytes!)
    expect(m.workingSetBytes).toBe(0)
  })

  it('takes the smallest memory.max along a nested v2 path, not the cgroup\'s own "max"', () => {
    expect(readContainerMemory(locate('v2-nested-host-view')).limitBytes).toBe(536870912)
  })

  it("takes hierarchical_memory_limit on v1 when the cgroup's own limit is the sentinel", () => {
    expect(readContainerMemory(locate('v1-nested-host-view')).limitBytes).toBe(536870912)
  })

  it('uses the hierarchical total_* counters on v1, which match usage_in_bytes', () => {
    // The fixture's own inactive_file (1048576) differs from total_inactive_file (4194304).
    const m = readContainerMemory(locate('v1-nested-host-view'))
    expect(m.workingSetBytes).toBe(104857600 - 4194304)
  })

  it('reports "max" and the v1 sentinel as null, never as a number', () => {
    expect(readContainerMemory(locate('v2-unlimited')).limitBytes).toBeNull()
    expect(readContainerMemory(locate('v1-unlimited')).limitBytes).toBeNull()
  })

  it('reads the garbage tree without throwing, every unknown as null', () => {
    expect(() => readContainerMemory(locate('v2-garbage'))).not.toThrow()
  })
})

describe('readContainerMemory when files change under it', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-read-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  function copyOf(name: string): CgroupLocation {
    const root = join(scratch, `${name}-${Math.random().toString(36).slice(2)}`)
    cpSync(fixture(name).root, root, { recursive: true })
    const location = locateMemoryCgroup(join(root, 'proc'), join(root, 'sys/fs/cgroup'))
    if (location === null) throw new Error(`copy of ${name} has no memory cgroup`)
    return location
  }

  it('reads all nulls, without throwing, when the cgroup directory vanished (container torn down)', () => {
    for (const name of ['v1-limited-256m', 'v2-nested-host-view']) {
      // (The v2 parents still exist, so their memory.max still bounds the limit: not asserted here.)
      const location = copyOf(name)
      rmSync(location.dir, { recursive: true })
      const m = readContainerMemory(location)
      expect(m).toMatchObject({ usageBytes: null, workingSetBytes: null, rssBytes: null, cacheBytes: null, oomKills: null, pressure: null })
    }
  })

  it('sees a new value on the next read (no caching)', () => {
    const location = copyOf('v2-limited-256m')
    writeFileSync(join(location.dir, 'memory.current'), '30000000\n')
    writeFileSync(join(location.dir, 'memory.events'), 'oom 2\noom_kill 2\n')
    const m = readContainerMemory(location)
    expect(m.usageBytes).toBe(30000000)
    expect(m.workingSetBytes).toBe(30000000 - 25165824)
    expect(m.oomKills).toBe(2)
  })

  it('reads a v1 cgroup without total_* keys (a kernel with use_hierarchy off) from the plain keys', () => {
    const location = copyOf('v1-container-view')
    writeFileSync(join(location.dir, 'memory.stat'), 'cache 8433664\nrss 120467456\ninactive_file 8388608\n')
    const m = readContainerMemory(location)
    expect(m).toMatchObject({ limitBytes: 268435456, rssBytes: 120467456, cacheBytes: 8433664, workingSetBytes: 130228224 - 8388608 })
  })
})

describe('workingSet', () => {
  it('is usage minus inactive_file, floored at 0; the usage itself without inactive_file; null without usage', () => {
    expect(workingSet(100, 30)).toBe(70)
    expect(workingSet(100, 100)).toBe(0)
    expect(workingSet(100, 130)).toBe(0)
    expect(workingSet(100, null)).toBe(100)
    expect(workingSet(null, 30)).toBeNull()
  })
})

describe('readContainerMemory on this machine', () => {
  const location = locateMemoryCgroup('/proc', '/sys/fs/cgroup')

  it.runIf(requireOrSkip(location !== null, 'this machine has no memory cgroup to read'))('reads integers from the real cgroup of this process', () => {
    const m = readContainerMemory(location!)
    expect(m.cgroupVersion).toBe(location!.version)
    for (const v of [m.usageBytes, m.workingSetBytes, m.rssBytes, m.cacheBytes, m.inactiveFileBytes]) {
      expect(Number.isInteger(v)).toBe(true)
    }
    // This test process alone holds more than a few MiB, and the cgroup counts it.
    expect(m.usageBytes!).toBeGreaterThan(process.memoryUsage().heapUsed)
    expect(m.workingSetBytes!).toBeLessThanOrEqual(m.usageBytes!)
  })
})
