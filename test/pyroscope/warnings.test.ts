// Rate-limited warnings with an injected clock: one line per key per minute, the next one saying
// how many were not logged, and at stop one line per key that still owes its count.
import { describe, expect, it } from 'vitest'
import { RateLimitedWarnings, WARNING_WINDOW_MS } from '../../src/pyroscope/index.js'
import { captureLogger } from '../helpers/http.js'

describe('RateLimitedWarnings', () => {
  it('logs a key once per minute and counts the rest', () => {
    let now = 1_000_000
    const { logger, lines } = captureLogger()
    const w = new RateLimitedWarnings(logger, () => now)
    expect(WARNING_WINDOW_MS).toBe(60_000)
    expect(w.warn('wall:error', { profile: 'wall' }, 'upload failed')).toBe(true)
    for (let i = 0; i < 59; i++) {
      now += 1000
      expect(w.warn('wall:error', { profile: 'wall' }, 'upload failed')).toBe(false)
    }
    expect(w.suppressed('wall:error')).toBe(59)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 40, profile: 'wall', suppressed: 0, msg: 'upload failed' })
    now += 1000 // 60 s after the first line
    expect(w.warn('wall:error', { profile: 'wall' }, 'upload failed')).toBe(true)
    expect(lines[1]).toMatchObject({ suppressed: 59 })
    expect(w.suppressed('wall:error')).toBe(0)
  })

  it('keeps keys apart: each outcome and profile has its own minute', () => {
    let now = 0
    const { logger, lines } = captureLogger()
    const w = new RateLimitedWarnings(logger, () => now)
    for (const key of ['wall:error', 'heap:error', 'wall:timeout', 'wall:dropped']) w.warn(key, { key }, key)
    now += 30_000
    for (const key of ['wall:error', 'heap:error', 'wall:timeout', 'wall:dropped']) w.warn(key, { key }, key)
    expect(lines.map((l) => l.msg)).toEqual(['wall:error', 'heap:error', 'wall:timeout', 'wall:dropped'])
  })

  it('at stop logs what was counted but never logged, once', () => {
    let now = 0
    const { logger, lines } = captureLogger()
    const w = new RateLimitedWarnings(logger, () => now)
    w.warn('heap:timeout', {}, 'slow')
    now += 10
    w.warn('heap:timeout', {}, 'slow')
    w.warn('heap:timeout', {}, 'slow')
    w.warn('wall:ok-ish', {}, 'once')
    w.flush('since the last warning')
    expect(lines.slice(2)).toEqual([expect.objectContaining({ key: 'heap:timeout', suppressed: 2, msg: 'since the last warning' })])
    w.flush('since the last warning')
    expect(lines).toHaveLength(3)
  })
})
