import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

// End to end: a real process leaking from a known function, oomkit from dist/, read over HTTP.
const CHILD = fileURLToPath(new URL('../fixtures/trend-child.mjs', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

interface Started {
  readonly url: string
  readonly lines: Record<string, unknown>[]
}

function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  children.push(child)
  const lines: Record<string, unknown>[] = []
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as Record<string, unknown>
      if (o.type === 'ready') resolve({ url: o.url as string, lines })
      else lines.push(o)
    })
  })
}

describe('the trend in a leaking process', () => {
  it('suspects the leak, names the leaking function among the growing sites, and forecasts the heap limit', async () => {
    const { url, lines } = await start(['--max-old-space-size=384', CHILD, '3'], { SAMPLE_MS: '500' })
    let trend: Record<string, unknown> | null = null
    const deadline = Date.now() + 40_000
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000))
      const report = (await (await fetch(`${url}/debug/memory`)).json()) as { trend: Record<string, unknown> }
      if (report.trend.leakSuspected === true && (report.trend.growingSites as unknown[]).length > 0) {
        trend = report.trend
        break
      }
    }
    expect(trend, 'a leak suspected within 40 s').not.toBeNull()
    expect(trend!.growing).toBe('heap')
    // No cgroup limit for this process here (or a far one): the first limit is V8's heap.
    expect(['heap', 'container']).toContain(trend!.limit)
    expect(trend!.secondsToLimit).toBeGreaterThan(0)
    expect((trend!.growingSites as { function: string }[])[0]!.function).toBe('retainForever')
    const warn = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('memory leak suspected: growing'))
    expect(warn, 'the warn line').toBeDefined()
    expect(warn!.msg).toMatch(/in the V8 heap/)
    const growth = (await (await fetch(`${url}/debug/memory/top?growth=1&limit=3`)).json()) as { function: string; growthBytesPerSecond: number }[]
    expect(growth[0]!.function).toBe('retainForever')
    expect(growth[0]!.growthBytesPerSecond).toBeGreaterThan(100_000)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/^oomkit_leak_suspected 1$/m)
    expect(metrics).toMatch(/^oomkit_memory_seconds_to_limit\{limit="heap"\} \d+/m)
  }, 60_000)
})
