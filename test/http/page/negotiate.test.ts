import { describe, expect, it } from 'vitest'
import { MAX_MEDIA_RANGES, parseAccept, prefersHtml, qualityOf } from '../../../src/http/page/index.js'

// What real clients send (Chromium 156, Firefox 140, Safari 18, curl, fetch, Go, Prometheus' agent).
const CHROMIUM = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

describe('prefersHtml', () => {
  it.each([
    ['Chromium', CHROMIUM],
    ['Firefox', FIREFOX],
    ['Safari', SAFARI],
    ['text/html alone', 'text/html'],
    ['text/* (any text)', 'text/*'],
    ['html above json by q', 'application/json;q=0.5, text/html;q=0.6'],
    ['json refused outright', 'text/html;q=0.1, application/json;q=0'],
    ['upper case and spaces', ' TEXT/HTML ; Q=1 , */* ; q=0.1'],
    ['sent as two headers (node joins them)', ['text/html', '*/*;q=0.1']],
  ] as const)('HTML for %s', (_name, accept) => {
    expect(prefersHtml(accept as string | string[])).toBe(true)
  })

  it.each([
    ['no Accept header', undefined],
    ['curl', '*/*'],
    ['an empty header', ''],
    ['application/json', 'application/json'],
    ['application/*', 'application/*'],
    ['a tie', 'text/html, application/json'],
    ['a tie through */*', 'text/html;q=0.8, */*;q=0.8'],
    ['json above html by q', 'text/html;q=0.5, application/json'],
    ['html refused', 'text/html;q=0, */*'],
    ['xhtml only (not text/html)', 'application/xhtml+xml'],
    ['text/plain', 'text/plain'],
  ] as const)('JSON for %s', (_name, accept) => {
    expect(prefersHtml(accept)).toBe(false)
  })

  it.each([
    ['a q above 1', 'text/html;q=1.5'],
    ['a q with four decimals', 'text/html;q=0.1234'],
    ['a q that is not a number', 'text/html;q=abc'],
    ['a negative q', 'text/html;q=-1'],
    ['no subtype', 'text'],
    ['*/html', '*/html'],
    ['an empty type', '/html'],
    ['a parameter without a value', 'text/html;level'],
    ['a parameter without a name', 'text/html;=1'],
    ['bytes outside tokens', 'text/h<tml>'],
    ['an unterminated quoted value', 'text/html;x="a'],
    [`more than ${MAX_MEDIA_RANGES} ranges`, [...Array.from({ length: MAX_MEDIA_RANGES }, () => 'image/png'), 'text/html'].join(',')],
  ])('JSON, never an error, for a malformed header: %s', (_name, accept) => {
    expect(parseAccept(accept)).toBeNull()
    expect(prefersHtml(accept)).toBe(false)
  })

  it('takes empty list elements, quoted parameters and extension parameters after q', () => {
    expect(parseAccept(',text/html;charset="utf-8";q=0.9;ext=1,,')).toEqual([{ type: 'text', subtype: 'html', q: 0.9 }])
    expect(prefersHtml(',text/html;charset="utf-8";q=0.9;ext=1,,')).toBe(true)
  })
})

describe('qualityOf', () => {
  const ranges = parseAccept('text/*;q=0.3, text/html;q=0.7, */*;q=0.5, text/html;q=0.2')!

  it('takes the most specific range: type/subtype over type/* over */*', () => {
    expect(qualityOf(ranges, 'text', 'html')).toBe(0.7)
    expect(qualityOf(ranges, 'text', 'plain')).toBe(0.3)
    expect(qualityOf(ranges, 'application', 'json')).toBe(0.5)
  })

  it('is 0 when nothing matches', () => {
    expect(qualityOf(parseAccept('image/png')!, 'text', 'html')).toBe(0)
  })

  it('a specific q=0 refuses what a wildcard would accept', () => {
    expect(qualityOf(parseAccept('*/*, text/html;q=0')!, 'text', 'html')).toBe(0)
  })
})
