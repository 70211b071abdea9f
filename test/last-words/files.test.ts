import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  LAST_WORDS_FILE,
  NODE_REPORT_FILE,
  basicTime,
  capturePrefix,
  enforceBounds,
  lastWordsFileName,
  listBounded,
  writePrivateFile,
} from '../../src/last-words/index.js'
import { filesIn, removeTemps, tempDir } from './helpers.js'

afterAll(removeTemps)

/** Writes `name` with `bytes` bytes and an mtime `ageS` seconds in the past. */
function file(dir: string, name: string, bytes: number, ageS: number): void {
  writeFileSync(join(dir, name), Buffer.alloc(bytes, 'x'))
  const t = Date.now() / 1000 - ageS
  utimesSync(join(dir, name), t, t)
}

describe('last-words file names', () => {
  it('are <ISO basic time>-<pid>-<kind>.<ext>, and sort as they read', () => {
    const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678)
    expect(basicTime(at)).toBe('20250102T030405.678Z')
    expect(lastWordsFileName(at, 1, 'summary')).toBe('20250102T030405.678Z-1-summary.json')
    expect(lastWordsFileName(at, 4242, 'heap')).toBe('20250102T030405.678Z-4242-heap.pb.gz')
    expect(lastWordsFileName(at, 7, 'node-report')).toBe('20250102T030405.678Z-7-node-report.json')
    for (const kind of ['summary', 'report', 'node-report', 'sites', 'heap'] as const) expect(LAST_WORDS_FILE.test(lastWordsFileName(at, 9, kind))).toBe(true)
    expect(capturePrefix('20250102T030405.678Z-9-sites.json')).toBe('20250102T030405.678Z-9')
    expect(capturePrefix('run-9-1.json')).toBeNull()
    expect([basicTime(at + 1000), basicTime(at), basicTime(at + 86_400_000)].sort()).toEqual([basicTime(at), basicTime(at + 1000), basicTime(at + 86_400_000)])
  })

  it("recognise Node's own report names, with the pid", () => {
    expect(NODE_REPORT_FILE.exec('report.20261202.133552.23733.0.001.json')?.[1]).toBe('23733')
    expect(NODE_REPORT_FILE.test('report.json')).toBe(false)
  })
})

describe('writePrivateFile', () => {
  it('creates the file 0600 even under a permissive umask, and never over an existing file', () => {
    const dir = tempDir('files')
    const old = process.umask(0)
    try {
      const path = writePrivateFile(dir, 'a.json', '{"a":1}')
      expect(path).toBe(join(dir, 'a.json'))
    } finally {
      process.umask(old)
    }
    expect(filesIn(dir)).toEqual([{ name: 'a.json', mode: 0o600, bytes: 7 }])
    expect(() => writePrivateFile(dir, 'a.json', 'again')).toThrow(expect.objectContaining({ code: 'EEXIST' }))
    expect(filesIn(dir)[0]!.bytes).toBe(7)
  })

  it('refuses to write through a planted symbolic link', () => {
    const dir = tempDir('files')
    const target = join(dir, 'elsewhere')
    symlinkSync(target, join(dir, 'b.json'))
    expect(() => writePrivateFile(dir, 'b.json', 'x')).toThrow(expect.objectContaining({ code: 'EEXIST' }))
    expect(filesIn(dir).map((f) => f.name)).toEqual(['b.json'])
  })
})

describe('enforceBounds', () => {
  const at = Date.UTC(2025, 0, 2)
  const name = (i: number, kind: 'summary' | 'report' = 'summary'): string => lastWordsFileName(at + i * 1000, 1, kind)

  it('removes the oldest first until the count is within maxFiles', () => {
    const dir = tempDir('bounds')
    for (let i = 0; i < 8; i++) file(dir, name(i), 10, 100 - i)
    file(dir, 'report.20250102.000000.5.0.001.json', 10, 200) // Node's report, oldest of all
    file(dir, 'run-5-1.json', 10, 300) // a run marker: not counted, never removed
    const removed = enforceBounds(dir, { maxFiles: 6, maxBytes: 1e9 })
    expect(removed).toEqual(['report.20250102.000000.5.0.001.json', name(0), name(1)])
    expect(listBounded(dir).map((f) => f.name)).toEqual([2, 3, 4, 5, 6, 7].map((i) => name(i)))
    expect(filesIn(dir).map((f) => f.name)).toContain('run-5-1.json')
  })

  it('removes the oldest first until the bytes are within maxBytes', () => {
    const dir = tempDir('bounds')
    for (let i = 0; i < 5; i++) file(dir, name(i), 400_000, 100 - i)
    expect(enforceBounds(dir, { maxFiles: 100, maxBytes: 1_048_576 })).toEqual([name(0), name(1), name(2)])
    expect(listBounded(dir).reduce((s, f) => s + f.bytes, 0)).toBe(800_000)
  })

  it("never removes the newest capture's summary, even when it alone is over the bound", () => {
    const dir = tempDir('bounds')
    file(dir, name(0, 'report'), 900_000, 20)
    file(dir, name(1), 2_000_000, 10)
    file(dir, name(1, 'report'), 10, 5)
    expect(enforceBounds(dir, { maxFiles: 6, maxBytes: 1_048_576 }, new Set([name(1)]))).toEqual([name(0, 'report'), name(1, 'report')])
    expect(listBounded(dir).map((f) => f.name)).toEqual([name(1)])
  })

  it('leaves directories and files of other names alone, and copes with a missing directory', () => {
    const dir = tempDir('bounds')
    mkdirSync(join(dir, name(0)))
    file(dir, 'notes.txt', 5_000_000, 1000)
    expect(enforceBounds(dir, { maxFiles: 6, maxBytes: 1_048_576 })).toEqual([])
    expect(enforceBounds(join(dir, 'missing'), { maxFiles: 6, maxBytes: 1_048_576 })).toEqual([])
  })
})
