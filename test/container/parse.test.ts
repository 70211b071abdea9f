import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { UNLIMITED_THRESHOLD, parseBytes, parseKeyed, parseLimit, parsePressure } from '../../src/container/index.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/cgroup/', import.meta.url))
const fixtureFile = (...parts: string[]): string => readFileSync(join(FIXTURES, ...parts), 'utf8')

describe('parseBytes', () => {
  it('reads one non-negative integer, with the trailing newline the kernel writes', () => {
    expect(parseBytes('268435456\n')).toBe(268435456)
    expect(parseBytes('  0 \n')).toBe(0)
    expect(parseBytes(fixtureFile('v2-limited-256m', 'sys/fs/cgroup/memory.current'))).toBe(199229440)
  })

  it.each([
    ['missing file', null],
    ['empty', ''],
    ['only a newline', '\n'],
    ['garbage', 'not-a-number'],
    ['trailing garbage', '12x'],
    ['negative', '-5'],
    ['fraction', '1.5'],
    ['exponent', '1e6'],
    ['two numbers', '1 2'],
    ['more than 20 digits', '123456789012345678901'],
    ['the garbage fixture', fixtureFile('v2-garbage', 'sys/fs/cgroup/memory.current')],
  ])('is null for %s', (_name, text) => {
    expect(parseBytes(text)).toBeNull()
  })
})

describe('parseLimit', () => {
  it('reads a limit', () => {
    expect(parseLimit('268435456\n')).toBe(268435456)
    expect(parseLimit(fixtureFile('v1-limited-256m', 'sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.limit_in_bytes'))).toBe(268435456)
  })

  it.each([
    ['v2 "max"', 'max\n'],
    ['the v1 sentinel with 4 KiB pages', '9223372036854771712\n'],
    // PAGE_COUNTER_MAX * PAGE_SIZE on a 64 KiB-page kernel (arm64, ppc64le).
    ['the v1 sentinel with 64 KiB pages', '9223372036854710272\n'],
    ['the largest 64-bit value', '18446744073709551615'],
    ['an empty file', '\n'],
    ['garbage', 'unlimited'],
    ['a missing file', null],
    ['the v2-unlimited fixture', fixtureFile('v2-unlimited', 'sys/fs/cgroup/memory.max')],
    ['the v1-unlimited fixture', fixtureFile('v1-unlimited', 'sys/fs/cgroup/memory/memory.limit_in_bytes')],
  ])('is null (no limit) for %s', (_name, text) => {
    expect(parseLimit(text)).toBeNull()
  })

  it('keeps any real limit, however large, below the threshold', () => {
    // 1 PiB: an absurd but real limit must not be mistaken for "unlimited".
    expect(parseLimit(String(2 ** 50))).toBe(2 ** 50)
    expect(UNLIMITED_THRESHOLD).toBeGreaterThan(2 ** 50)
    expect(UNLIMITED_THRESHOLD).toBeLessThanOrEqual(9223372036854710272)
  })
})

describe('parseKeyed', () => {
  it('reads every line of a real memory.stat', () => {
    const stat = parseKeyed(fixtureFile('v1-limited-256m', 'sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.stat'))
    expect(stat.get('total_inactive_file')).toBe(8388608)
    expect(stat.get('total_rss')).toBe(120467456)
    expect(stat.get('hierarchical_memory_limit')).toBe(268435456)
    expect(stat.size).toBe(fixtureFile('v1-limited-256m', 'sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.stat').trim().split('\n').length)
  })

  it('reads memory.events and memory.oom_control', () => {
    expect(parseKeyed(fixtureFile('v2-limited-256m', 'sys/fs/cgroup/memory.events')).get('oom_kill')).toBe(1)
    expect(parseKeyed(fixtureFile('v1-nested-host-view', 'sys/fs/cgroup/memory/kubepods/burstable/pod9e2f/ctr-b71c/memory.oom_control')).get('oom_kill')).toBe(
      2,
    )
  })

  it('leaves bad lines out and keeps the good ones', () => {
    const stat = parseKeyed('anon\ninactive_file -5\nfile 12x\nanon 4096\n\nshmem  7\nkernel 8 9\n')
    expect([...stat]).toEqual([['anon', 4096]])
    expect(parseKeyed(fixtureFile('v2-garbage', 'sys/fs/cgroup/memory.stat')).size).toBe(0)
    expect(parseKeyed(null).size).toBe(0)
  })
})

describe('parsePressure', () => {
  it('reads both lines; total is in microseconds, totalSeconds in seconds', () => {
    const p = parsePressure(fixtureFile('v2-limited-256m', 'sys/fs/cgroup/memory.pressure'))
    expect(p).toEqual({
      some: { avg10: 1.52, avg60: 0.84, avg300: 0.21, totalSeconds: 4.823115 },
      full: { avg10: 0.98, avg60: 0.52, avg300: 0.12, totalSeconds: 3.100452 },
    })
  })

  it('keeps a lone "some" line (full is null)', () => {
    expect(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n')).toEqual({
      some: { avg10: 0, avg60: 0, avg300: 0, totalSeconds: 0 },
      full: null,
    })
  })

  it.each([
    ['a missing file', null],
    ['an empty file', ''],
    ['garbage', 'some avg10=x avg60=0.00 avg300=0.00 total=1\nfull nonsense\n'],
    ['a negative total', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n'],
  ])('is null for %s', (_name, text) => {
    expect(parsePressure(text)).toBeNull()
  })
})
