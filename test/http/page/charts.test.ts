import { describe, expect, it } from 'vitest'
import { type ChartSpec, LIMIT_IN_SCALE, MAX_VERTICES, niceStep, pathData, renderChart, segments, ticks } from '../../../src/http/page/index.js'
import { scale } from '../../../src/http/page/geometry.js'
import { prng } from '../../helpers/random.js'

const MiB = 1024 * 1024
const NOW = Date.UTC(2026, 11, 3, 12)

/** n sample times, 5 s apart, ending at NOW. */
const timesOf = (n: number): number[] => Array.from({ length: n }, (_, i) => NOW - (n - 1 - i) * 5000)

/** The path of one series in rendered SVG, by its data-series name. */
function pathOf(svg: string, name: string): string {
  const m = new RegExp(`<path class="line [^"]*" data-series="${name}" d="([^"]*)"`).exec(svg)
  if (m === null) throw new Error(`no path for ${name}`)
  return m[1] as string
}

/** Vertices of a path: one command letter (M or L) each. */
const vertices = (d: string): number => (d.match(/[ML]/g) ?? []).length
/** Runs of a path: one M each. */
const runs = (d: string): number => (d.match(/M/g) ?? []).length

function chart(values: (number | null)[], limits: ChartSpec['limits'] = []): ChartSpec {
  return { id: 'c', title: 'Test chart', series: [{ name: 'ws', label: 'working set', colour: 'c1', values }], limits, note: null }
}

describe('segments and pathData', () => {
  it('one vertex per sample with a value; a null is a gap, not a zero', () => {
    const values = [10, 20, null, null, 30, 40, 50, null, 60].map((v) => (v === null ? null : v * MiB))
    const t = timesOf(values.length)
    const r = segments(t, values)
    expect(r.map((run) => run.map((p) => p.v / MiB))).toEqual([[10, 20], [30, 40, 50], [60]])
    const d = pathData(r, scale({ left: 0, top: 0, width: 100, height: 100 }, t[0]!, NOW, 60 * MiB))
    expect(vertices(d)).toBe(6)
    expect(runs(d)).toBe(3)
    // A lone point is closed, so its round cap shows.
    expect(d.endsWith('Z')).toBe(true)
    // Nothing is drawn at zero for the gaps: every y is above the bottom (100).
    for (const [, y] of d.matchAll(/[ML][\d.]+ ([\d.]+)/g)) expect(Number(y)).toBeLessThan(100)
  })

  it('no values at all: no vertices', () => {
    expect(segments(timesOf(5), [null, null, null, null, null])).toEqual([])
    expect(segments([], [])).toEqual([])
  })

  it(`downsamples past ${MAX_VERTICES} samples to exactly ${MAX_VERTICES} vertices, each its bucket's highest value`, () => {
    const rnd = prng(3)
    const n = 10_000
    const values = Array.from({ length: n }, () => Math.round(rnd() * 100 * MiB))
    values[5000] = 500 * MiB // a spike survives
    const r = segments(timesOf(n), values)
    expect(r).toHaveLength(1)
    expect(r[0]).toHaveLength(MAX_VERTICES)
    expect(Math.max(...r[0]!.map((p) => p.v))).toBe(500 * MiB)
    // The documented rule, bucket by bucket.
    for (let b = 0; b < MAX_VERTICES; b++) {
      const bucket = values.slice(Math.floor((b * n) / MAX_VERTICES), Math.floor(((b + 1) * n) / MAX_VERTICES))
      expect(r[0]![b]!.v).toBe(Math.max(...bucket))
    }
  })

  it('downsampled, a bucket with no value is a gap', () => {
    const n = 1200
    const values: (number | null)[] = Array.from({ length: n }, (_, i) => (i >= 400 && i < 600 ? null : i))
    const r = segments(timesOf(n), values)
    // Buckets of 2 samples: 200..299 are all-null buckets.
    expect(r.map((run) => run.length)).toEqual([200, 300])
  })
})

describe('renderChart', () => {
  it('draws one vertex per sample with a value, with a title and desc for screen readers', () => {
    const values = [100, 110, null, 130].map((v) => (v === null ? null : v * MiB))
    const html = renderChart(chart(values), timesOf(4), NOW)
    expect(vertices(pathOf(html, 'ws'))).toBe(3)
    expect(html).toMatch(/<svg viewBox="0 0 \d+ \d+" role="img" aria-labelledby="c-title c-desc"/)
    expect(html).toContain('<title id="c-title">Test chart</title>')
    expect(html).toMatch(
      /<desc id="c-desc">Test chart: 4 samples over the last 0\.3 minutes; working set from 100\.0 MiB to 130\.0 MiB, now 130\.0 MiB\.<\/desc>/,
    )
    expect(html).toContain('minutes ago')
    expect(html).toMatch(/>MiB<\/text>/)
    expect(html).not.toMatch(/style=/)
  })

  it('draws the limit lines when they are in reach, and none when there is no limit', () => {
    const values = [150, 160, 170].map((v) => v * MiB)
    const limits: ChartSpec['limits'] = [
      { name: 'limit', label: 'container limit', bytes: 256 * MiB, kind: 'limit' },
      { name: 'warn', label: 'warn', bytes: 217 * MiB, kind: 'warn' },
    ]
    const withLimit = renderChart(chart(values, limits), timesOf(3), NOW)
    expect(withLimit.match(/data-line="limit"/g)).toHaveLength(1)
    expect(withLimit.match(/data-line="warn"/g)).toHaveLength(1)
    // The limit is the highest thing drawn: its line is above (smaller y than) the data's top.
    const limitY = Number(/data-line="limit" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(withLimit)![1])
    const topY = Math.min(...[...pathOf(withLimit, 'ws').matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1])))
    expect(limitY).toBeLessThan(topY)
    const without = renderChart(chart(values), timesOf(3), NOW)
    expect(without).not.toContain('data-line=')
  })

  it(`a limit more than ${LIMIT_IN_SCALE}× the data is not drawn, the legend says it is far above`, () => {
    const html = renderChart(chart([40 * MiB, 41 * MiB], [{ name: 'heapLimit', label: 'V8 heap limit', bytes: 4096 * MiB, kind: 'limit' }]), timesOf(2), NOW)
    expect(html).not.toContain('data-line=')
    expect(html).toContain('V8 heap limit 4.00 GiB: far above the chart')
  })

  it('an empty history draws no vertex and says so', () => {
    const html = renderChart(chart([]), [], NOW)
    expect(pathOf(html, 'ws')).toBe('')
    expect(html).toContain('no samples yet')
    expect(html).toContain('working set <b>no samples</b>')
  })

  it('escapes labels and titles', () => {
    const spec: ChartSpec = { ...chart([1]), title: '<script>x</script>', series: [{ name: 'a"b', label: '</li><b>', colour: 'c1', values: [1] }] }
    const html = renderChart(spec, timesOf(1), NOW)
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;')
    expect(html).toContain('data-series="a&quot;b"')
    expect(html).toContain('&lt;/li&gt;&lt;b&gt;')
  })
})

describe('axes', () => {
  it('niceStep is 1, 2 or 5 times a power of ten, at least the raw step', () => {
    expect([0.13, 0.3, 1, 1.5, 3, 7, 12, 45, 260].map(niceStep)).toEqual([0.2, 0.5, 1, 2, 5, 10, 20, 50, 500])
  })

  it('ticks start at 0 and do not pass the top', () => {
    expect(ticks(276).values).toEqual([0, 100, 200])
    expect(ticks(86).values).toEqual([0, 20, 40, 60, 80])
    expect(ticks(6).values).toEqual([0, 2, 4, 6])
  })
})
