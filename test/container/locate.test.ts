import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { locateMemoryCgroup } from '../../src/container/index.js'
import { EXPECTED, fixture, fixtureNames } from '../fixtures/cgroup/expected.js'

describe('locateMemoryCgroup on the fixture trees', () => {
  it('has an expectation for every fixture tree on disk', () => {
    expect(fixtureNames()).toEqual(Object.keys(EXPECTED).sort())
  })

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const f = fixture(name)
    const location = locateMemoryCgroup(f.procRoot, f.cgroupRoot)
    if (expected.location === null) {
      expect(location).toBeNull()
      return
    }
    expect(location).toEqual({
      version: expected.location.version,
      cgroupPath: expected.location.cgroupPath,
      dir: join(f.root, expected.location.dir),
      mountDir: join(f.root, expected.location.mountDir),
    })
    // The located directory is a real one holding the version's usage file.
    const usageFile = expected.location.version === 1 ? 'memory.usage_in_bytes' : 'memory.current'
    expect(existsSync(join(location!.dir, usageFile))).toBe(true)
  })

  it('prefers the v1 memory controller on a hybrid host even though the unified root has memory files', () => {
    const f = fixture('v1-hybrid-host')
    // The decoy exists, so a locator preferring cgroup2 would find something to read there.
    expect(existsSync(join(f.cgroupRoot, 'unified', 'memory.current'))).toBe(true)
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)?.version).toBe(1)
  })

  it('unescapes \\040 in mountinfo: the raw mount point would name a directory that does not exist', () => {
    const f = fixture('v2-escaped-mountpoint')
    expect(readFileSync(join(f.procRoot, 'self', 'mountinfo'), 'utf8')).toContain('/sys/fs/cgroup/unified\\040v2 ')
    expect(existsSync(join(f.cgroupRoot, 'unified\\040v2'))).toBe(false)
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)?.mountDir).toBe(join(f.cgroupRoot, 'unified v2'))
  })
})

describe('locateMemoryCgroup on copies of fixtures changed for one case', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-locate-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  function copyOf(name: string): ReturnType<typeof fixture> {
    const root = join(scratch, `${name}-${Math.random().toString(36).slice(2)}`)
    cpSync(fixture(name).root, root, { recursive: true })
    return { root, cgroupRoot: join(root, 'sys/fs/cgroup'), procRoot: join(root, 'proc') }
  }

  it('finds a v1 memory controller co-mounted with others (memory,cpu on one hierarchy)', () => {
    const f = copyOf('v1-container-view')
    writeFileSync(join(f.procRoot, 'self/cgroup'), '4:cpu,memory:/\n0::/\n')
    const mountinfo = readFileSync(join(f.procRoot, 'self/mountinfo'), 'utf8').replace(
      '/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,cpu,memory',
    )
    writeFileSync(join(f.procRoot, 'self/mountinfo'), mountinfo)
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)).toMatchObject({ version: 1, dir: join(f.cgroupRoot, 'memory') })
  })

  it('returns null for a v1 line naming memory when the located directory has no memory files', () => {
    const f = copyOf('v1-container-view')
    rmSync(join(f.cgroupRoot, 'memory', 'memory.usage_in_bytes'))
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)).toBeNull()
  })

  it('falls back to probing the cgroup root when proc files are unreadable (v1 layout)', () => {
    const f = copyOf('v1-container-view')
    rmSync(f.procRoot, { recursive: true })
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)).toEqual({
      version: 1,
      cgroupPath: '/',
      dir: join(f.cgroupRoot, 'memory'),
      mountDir: join(f.cgroupRoot, 'memory'),
    })
  })

  it('treats a process cgroup outside the mounted root as the mount dir', () => {
    const f = copyOf('v2-bind-mounted-root')
    writeFileSync(join(f.procRoot, 'self/cgroup'), '0::/elsewhere.slice/other.scope\n')
    expect(locateMemoryCgroup(f.procRoot, f.cgroupRoot)).toMatchObject({ version: 2, dir: f.cgroupRoot, mountDir: f.cgroupRoot })
  })
})

describe('locateMemoryCgroup on this machine', () => {
  it('finds the cgroup /proc/self/cgroup names, with a readable usage file', () => {
    const location = locateMemoryCgroup('/proc', '/sys/fs/cgroup')
    const text = readFileSync('/proc/self/cgroup', 'utf8')
    const v1 = text.split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory'))
    if (v1 !== undefined) {
      // Hybrid or v1 host (the CI machines): the memory line's path, under the v1 memory mount.
      const path = v1.split(':').slice(2).join(':')
      expect(location).toMatchObject({ version: 1, cgroupPath: path })
      expect(existsSync(join(location!.dir, 'memory.usage_in_bytes'))).toBe(true)
    } else if (location !== null) {
      expect(location.version).toBe(2)
      expect(existsSync(join(location.dir, 'memory.current'))).toBe(true)
    }
  })
})
