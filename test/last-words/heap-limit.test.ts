import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { heapNearness, maxOldSpaceFlagBytes, oldGenerationLimit, oldGenerationUsed } from '../../src/last-words/index.js'

const MiB = 1024 * 1024
const space = (name: string, usedBytes: number) => ({ name, usedBytes, sizeBytes: usedBytes, availableBytes: 0 })

describe('the old generation limit', () => {
  it('reads --max-old-space-size from the command line and NODE_OPTIONS, the command line last', () => {
    expect(maxOldSpaceFlagBytes([], undefined)).toBeNull()
    expect(maxOldSpaceFlagBytes(['--max-old-space-size=48'], undefined)).toBe(48 * MiB)
    expect(maxOldSpaceFlagBytes(['--max_old_space_size=192'], '')).toBe(192 * MiB)
    expect(maxOldSpaceFlagBytes(['--max-old-space-size', '64'], undefined)).toBe(64 * MiB)
    expect(maxOldSpaceFlagBytes([], '--enable-source-maps --max-old-space-size=128')).toBe(128 * MiB)
    expect(maxOldSpaceFlagBytes(['--max-old-space-size=96'], '--max-old-space-size=128')).toBe(96 * MiB)
    expect(maxOldSpaceFlagBytes(['--max-old-space-size=96', '--max-old-space-size=32'], undefined)).toBe(32 * MiB)
    expect(maxOldSpaceFlagBytes([], '"--max-old-space-size=80"')).toBe(80 * MiB)
    expect(maxOldSpaceFlagBytes(['--max-old-space-size=abc', '--max-old-space-size-percentage=50'], undefined)).toBeNull()
  })

  it('is the flag when given (never above heap_size_limit), else heap_size_limit', () => {
    expect(oldGenerationLimit(100 * MiB, 48 * MiB)).toBe(48 * MiB)
    expect(oldGenerationLimit(100 * MiB, 4096 * MiB)).toBe(100 * MiB)
    expect(oldGenerationLimit(259 * MiB, null)).toBe(259 * MiB)
  })

  it('counts every space but the young generation', () => {
    const spaces = [
      space('new_space', 16 * MiB),
      space('old_space', 40 * MiB),
      space('code_space', MiB),
      space('large_object_space', 3 * MiB),
      space('new_large_object_space', 2 * MiB),
    ]
    expect(oldGenerationUsed(spaces)).toBe(44 * MiB)
    expect(heapNearness(spaces, 96 * MiB, 48 * MiB)).toEqual({ usedBytes: 44 * MiB, limitBytes: 48 * MiB, ratio: 44 / 48 })
  })

  it('is why: with --max-old-space-size=48, Node reports a heap_size_limit above 48 MiB (the young generation is added)', () => {
    const r = spawnSync(process.execPath, ['--max-old-space-size=48', '-e', 'console.log(require("v8").getHeapStatistics().heap_size_limit)'], {
      encoding: 'utf8',
    })
    const limit = Number(r.stdout.trim())
    expect(limit).toBeGreaterThan(48 * MiB)
    expect(oldGenerationLimit(limit, maxOldSpaceFlagBytes(['--max-old-space-size=48'], undefined))).toBe(48 * MiB)
  })
})
