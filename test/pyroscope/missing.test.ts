// Without @pyroscope/nodejs: an app laid out as npm installs oomkit without its optional peer
// (node_modules/oomkit from dist/, its dependencies beside it, no @pyroscope/nodejs anywhere up
// the tree). Pyroscope's start fails with the documented error; the rest of oomkit runs on.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeGzippedProfile } from '../fixtures/alloc-helpers.js'
import { Child } from './child.js'
import { frames } from './helpers.js'
import { IngestServer } from './ingest-server.js'

const ROOT = join(import.meta.dirname, '..', '..')
const DOCUMENTED =
  'Pyroscope profiling cannot start: pyroscope is configured but @pyroscope/nodejs is not installed: npm install @pyroscope/nodejs (an optional peer dependency of oomkit)'
let dir: string
let ingest: IngestServer
const children: Child[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oomkit-no-pyroscope-'))
  const pkg = join(dir, 'node_modules', 'oomkit')
  mkdirSync(join(pkg, 'dist'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
  cpSync(join(ROOT, 'dist', 'src'), join(pkg, 'dist', 'src'), { recursive: true })
  cpSync(join(ROOT, 'dist', 'middleware'), join(pkg, 'dist', 'middleware'), { recursive: true })
  mkdirSync(join(dir, 'node_modules', '@datadog'))
  for (const dep of ['pino', 'prom-client', 'lru-cache', 'pprof-format', '@datadog/pprof'])
    symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep))
  mkdirSync(join(dir, 'test', 'pyroscope', 'fixtures'), { recursive: true })
  cpSync(join(import.meta.dirname, 'fixtures', 'service.mjs'), join(dir, 'test', 'pyroscope', 'fixtures', 'service.mjs'))
  cpSync(join(ROOT, 'test', 'fixtures', 'alloc-site.mjs'), join(dir, 'test', 'fixtures', 'alloc-site.mjs'))
  // The layout really lacks it.
  expect(() => createRequire(join(pkg, 'dist', 'src', 'index.js')).resolve('@pyroscope/nodejs')).toThrow(/Cannot find module '@pyroscope\/nodejs'/)
  ingest = await IngestServer.start()
})

afterAll(async () => {
  for (const c of children) await c.finish()
  await ingest.close()
  rmSync(dir, { recursive: true, force: true })
})

function service(options: object): Child {
  const child = new Child(['--expose-gc', join('test', 'pyroscope', 'fixtures', 'service.mjs')], { SERVICE_OPTIONS: JSON.stringify(options) }, dir)
  children.push(child)
  return child
}

describe('without @pyroscope/nodejs', () => {
  it("fails Pyroscope's start with the documented error, and the rest of oomkit serves as usual", async () => {
    const child = service({ pyroscope: { serverAddress: ingest.url, appName: 'no-peer', flushIntervalMs: 1000 } })
    const ready = await child.waitFor((l) => l.type === 'ready', 'ready')
    const failed = await child.waitFor((l) => l.capability === 'pyroscope', 'the pyroscope start failure')
    expect(failed).toMatchObject({ level: 50, err: { code: 'OOMKIT_PYROSCOPE_UNAVAILABLE', message: DOCUMENTED } })
    expect(String(failed.msg)).toContain('failed to start; it stays off and the app runs on')

    const debug = String(ready.debug)
    const report = (await (await fetch(`${debug}/debug/memory`)).json()) as {
      pyroscope: Record<string, unknown>
      profile: { topSites: { function: string }[] }
    }
    expect(report.pyroscope).toMatchObject({ running: false, error: DOCUMENTED })
    expect(report.profile.topSites[0]!.function).toBe('leakyAllocationSite')
    const heap = decodeGzippedProfile(await (await fetch(`${debug}/debug/pprof/heap`)).arrayBuffer())
    expect(frames(heap).some((f) => f.function === 'leakyAllocationSite')).toBe(true)
    const metrics = await (await fetch(`${debug}/metrics`)).text()
    expect(metrics).toMatch(/^oomkit_v8_heap_limit_bytes \d+$/m)
    expect(metrics).not.toMatch(/^oomkit_profile_uploads_total\{/m)
    expect((await fetch(`${String(ready.app)}/work`)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 1500))
    expect(ingest.uploads).toEqual([])
    expect(await child.finish()).toBe(0)
  })
})
