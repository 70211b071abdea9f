/**
 * The memory page in a real browser: Debian's Chromium driven by playwright-core, against a real
 * kit's debug server on 127.0.0.1:0. The kit reads a copy of the 256 MiB cgroup v2 fixture whose
 * working set the test raises sample by sample (an injected clock, 5 s apart): a real growing
 * trend with a container forecast. A run marker left in diagnosticsDir by a dead "earlier run" is
 * a real previous crash. Screenshots go to test-artifacts/memory-page/ (git-ignored).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MemoryReport, type Oomkit, createOomkit } from '../../../src/index.js'
import { internals } from '../../../src/internal.js'
import { type RunMarker, markerName } from '../../../src/last-words/index.js'
import { trendSentence } from '../../../src/trend/words.js'
import { fixture } from '../../fixtures/cgroup/expected.js'
import { captureLogger, send } from '../../helpers/http.js'
import { prng } from '../../helpers/random.js'
import { requireOrSkip } from '../../helpers/require.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'memory-page')
const MiB = 1024 * 1024
const INACTIVE = 25165824 // the fixture's inactive_file: working set = memory.current − this
const HOSTILE_CACHE = '</td><script>alert(1)</script>'
const HOSTILE_POOL = '<img src=x onerror=alert(2)>'
const SAMPLES = 72

const available = requireOrSkip(existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM} (bash scripts/install-test-deps.sh installs it)`)

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)
}

/** The marker a run that died at 97% of the fixture's limit leaves (as test/last-words/ does). */
function leaveDeadRun(diag: string, pid: number): void {
  const startedAt = Date.now() - 600_000
  const m: RunMarker = {
    version: 1,
    pid,
    startedAt,
    processStartedAt: startedAt - 500,
    cgroupPath: '/',
    oomKillsAtStart: 1,
    heapSizeLimitBytes: 271 * MiB,
    oldGenerationLimitBytes: 271 * MiB,
    captures: 0,
    points: [],
    lastSample: {
      at: startedAt + 55_000,
      workingSetBytes: 248 * MiB,
      limitBytes: 256 * MiB,
      utilization: 0.97,
      heapUsedBytes: 200 * MiB,
      liveAfterGcBytes: 190 * MiB,
      oomKills: 1,
    },
  }
  mkdirSync(join(diag, 'last-words'), { recursive: true, mode: 0o700 })
  writeFileSync(join(diag, 'last-words', markerName(pid, startedAt)), JSON.stringify(m))
}

describe.runIf(available)('the memory page in Chromium', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'oomkit-page-'))
  const userDataDir = mkdtempSync(join(tmpdir(), 'oomkit-chromium-'))
  const deadRun = deadPid()
  let kit: Oomkit
  let url: string
  let context: BrowserContext | null = null
  let report: MemoryReport

  beforeAll(async () => {
    const root = join(scratch, 'cgroup')
    cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
    const diag = join(scratch, 'diag')
    leaveDeadRun(diag, deadRun)
    let leakClock = 0
    kit = createOomkit({
      cgroupRoot: join(root, 'sys/fs/cgroup'),
      procRoot: join(root, 'proc'),
      diagnosticsDir: diag,
      logger: captureLogger().logger,
      registry: new Registry(),
      logIntervalMs: 0,
      defaultMetrics: false,
      // The timer never fires during the test: every sample is one the test takes.
      sampleIntervalMs: 3_600_000,
      leaks: { clock: () => leakClock, holdThresholdMs: 1000, sockets: false },
    })
    let now = Date.now()
    internals(kit).setClock(() => now)
    kit.start()
    // Six minutes of samples 5 s apart: the working set climbs 0.55 MiB a sample (with a little noise) from 166 MiB.
    const rnd = prng(12)
    for (let i = 0; i < SAMPLES; i++) {
      now += 5000
      const ws = 166 * MiB + i * 0.55 * MiB + (rnd() - 0.5) * 0.2 * MiB
      writeFileSync(join(root, 'sys/fs/cgroup/memory.current'), `${Math.round(ws) + INACTIVE}\n`)
      // A real major GC now and then: the live set after GC starts as a gap, then has values.
      if (i % 12 === 5) {
        globalThis.gc?.()
        // The GC observer hears of it on a later turn of the event loop.
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      internals(kit).tick()
    }
    kit.cache(HOSTILE_CACHE, { max: 100 }).set('k', 'v')
    kit.leaks.acquire('socket', {}, { pool: HOSTILE_POOL })
    leakClock += 5000
    const server = await kit.listen({ port: 0, host: '127.0.0.1' })
    url = `http://127.0.0.1:${server.address.port}/debug/memory`
    const json = await send(server.address.port, { path: '/debug/memory', headers: { accept: 'application/json' } })
    report = json.json as unknown as MemoryReport
    mkdirSync(ARTIFACTS, { recursive: true })
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    })
  })

  afterAll(async () => {
    await context?.close()
    await kit?.stop()
    rmSync(userDataDir, { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  /** Opens the page, recording console messages, page errors, dialogs and every request. */
  async function open(width: number, scheme: 'light' | 'dark'): Promise<{ page: Page; problems: string[]; requests: string[] }> {
    const page = await context!.newPage()
    const problems: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    page.on('request', (r) => requests.push(r.url()))
    await page.setViewportSize({ width, height: 900 })
    await page.emulateMedia({ colorScheme: scheme })
    const response = await page.goto(url, { waitUntil: 'load' })
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8')
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/)
    return { page, problems, requests }
  }

  it('draws every history sample with a value as a vertex, with the limit, warn and critical lines', async () => {
    const { page, problems } = await open(1280, 'light')
    const counts = await page.$$eval('path[data-series]', (paths) =>
      Object.fromEntries(paths.map((p) => [p.getAttribute('data-series'), (p.getAttribute('d')?.match(/[ML]/g) ?? []).length])),
    )
    const h = report.history
    expect(h.length).toBe(SAMPLES + 1)
    for (const name of ['workingSet', 'heapUsed', 'heapTotal', 'liveAfterGc', 'external', 'arrayBuffers', 'rss'] as const) {
      expect(counts[name], name).toBe(h.filter((s) => s[name] !== null).length)
    }
    expect(counts.workingSet).toBe(SAMPLES + 1)
    for (const line of ['limit', 'warn', 'critical']) expect(await page.locator(`#chart-container [data-line="${line}"]`).count(), line).toBe(1)
    expect(await page.locator('#chart-container svg title').textContent()).toBe('Working set against the container limit')
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-light.png'), fullPage: true })
    expect(problems).toEqual([])
    await page.close()
  })

  it('says the forecast, the budget verdict with its flag, and the previous crash in words', async () => {
    const { page, problems } = await open(1280, 'light')
    const t = report.trend!
    expect(t.growing).not.toBeNull()
    expect(t.limit).toBe('container')
    const sentence = trendSentence(t.growing!, t.signals[t.growing!].bytesPerSecond!, t.secondsToLimit, t.limit)
    const trend = await page.locator('#trend .headline').textContent()
    expect(trend).toBe(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`)
    expect(trend).toMatch(/^Growing \d+(\.\d)? MB\/min .*; at this rate the container limit is reached .* in \d+ min\.$/)
    expect(report.budget.verdict).toBe('heap-limit-exceeds-container')
    expect(await page.locator('#budget .headline').textContent()).toBe("V8's heap limit exceeds the container limit")
    expect(await page.locator('#budget [data-flag]').textContent()).toBe(`NODE_OPTIONS=${report.budget.recommendedFlag}`)
    const crash = await page.locator('#previous-crash .headline').textContent()
    expect(crash).toContain(`The previous instance (pid ${deadRun},`)
    expect(crash).toContain('was killed at the container memory limit (OOM kill)')
    await expect.poll(() => page.locator('#previous-crash').isVisible()).toBe(true)
    // The hostile names are text, never markup: no dialog, no script, the exact string in the cell.
    expect(await page.locator('#caches td').first().textContent()).toBe(HOSTILE_CACHE)
    expect(await page.locator('#leaks td', { hasText: HOSTILE_POOL }).count()).toBe(1)
    expect(await page.locator('script').count()).toBe(0)
    expect(problems).toEqual([])
    await page.close()
  })

  it('loads nothing from anywhere, not even its own origin, beyond the page itself', async () => {
    const { page, problems, requests } = await open(1280, 'light')
    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()
  })

  it('fits a 390 px phone screen, light and dark, and the dark theme is dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, problems } = await open(390, scheme)
      expect(Number(await page.evaluate('document.documentElement.scrollWidth')), scheme).toBeLessThanOrEqual(390)
      const bg = String(await page.evaluate('getComputedStyle(document.body).backgroundColor'))
      const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number)
      const luminance = (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255
      if (scheme === 'dark') expect(luminance, bg).toBeLessThan(0.2)
      else expect(luminance, bg).toBeGreaterThan(0.8)
      await page.screenshot({ path: join(ARTIFACTS, `phone-${scheme}.png`), fullPage: true })
      // And in screen-sized parts, to read at full size.
      const height = Number(await page.evaluate('document.documentElement.scrollHeight'))
      for (let y = 0, part = 1; y < height; y += 1200, part++) {
        await page.screenshot({
          path: join(ARTIFACTS, `phone-${scheme}-${part}.png`),
          fullPage: true,
          clip: { x: 0, y, width: 390, height: Math.min(1200, height - y) },
        })
      }
      expect(problems).toEqual([])
      await page.close()
    }
    const { page } = await open(1280, 'dark')
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-dark.png'), fullPage: true })
    await page.close()
  })
})
