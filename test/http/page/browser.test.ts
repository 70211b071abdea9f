/**
 * The memory page in a real browser: Debian's Chromium driven by playwright-core, against a real
 * kit's debug server on 127.0.0.1:0. The kit reads a copy of the 256 MiB cgroup v2 fixture whose
 * working set the test raises sample by sample (an injected clock, 5 s apart, see helpers.ts): a
 * real growing trend with a container forecast. A run marker left in diagnosticsDir by a dead
 * "earlier run" is a real previous crash. Screenshots go to test-artifacts/memory-page/ (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MemoryReport } from '../../../src/index.js'
import { trendSentence } from '../../../src/trend/words.js'
import { send } from '../../helpers/http.js'
import { requireOrSkip } from '../../helpers/require.js'
import { type PageKit, deadPid, leaveDeadRun, pageKit } from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'memory-page')
const HOSTILE_CACHE = '</td><script>alert(1)</script>'
const HOSTILE_POOL = '<img src=x onerror=alert(2)>'
const SAMPLES = 72

const available = requireOrSkip(existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM} (bash scripts/install-test-deps.sh installs it)`)

describe.runIf(available)('the memory page in Chromium', () => {
  let userDataDir: string | null = null
  let deadRun: number
  let k: PageKit | null = null
  let url: string
  let context: BrowserContext | null = null
  let report: MemoryReport

  beforeAll(async () => {
    deadRun = deadPid()
    let leakClock = 0
    k = pageKit({ leaks: { clock: () => leakClock, holdThresholdMs: 1000, sockets: false } })
    leaveDeadRun(k.diagnosticsDir, deadRun)
    const kit = k.kit.start()
    await k.grow(SAMPLES)
    kit.cache(HOSTILE_CACHE, { max: 100 }).set('k', 'v')
    kit.leaks.acquire('socket', {}, { pool: HOSTILE_POOL })
    leakClock += 5000
    const server = await kit.listen({ port: 0, host: '127.0.0.1' })
    url = `http://127.0.0.1:${server.address.port}/debug/memory`
    const json = await send(server.address.port, { path: '/debug/memory', headers: { accept: 'application/json' } })
    report = json.json as unknown as MemoryReport
    mkdirSync(ARTIFACTS, { recursive: true })
    userDataDir = mkdtempSync(join(tmpdir(), 'oomkit-chromium-'))
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
    await k?.close()
    if (userDataDir !== null) rmSync(userDataDir, { recursive: true, force: true })
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
    expect(t.limit).toBe('container')
    // What grows: a kind of memory, or only the working set when none does beyond noise on its own (the heap committing pages).
    const kind = t.growing ?? 'workingSet'
    const sentence = trendSentence(kind, t.signals[kind].bytesPerSecond!, t.secondsToLimit, t.limit)
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
