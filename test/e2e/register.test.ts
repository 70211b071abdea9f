/**
 * oomkit/register in real child processes: `node --import oomkit/register app.mjs` and
 * `node -r oomkit/register app.cjs` start the debug server beside an app that knows nothing of
 * oomkit; a port in use leaves the app running and logs why; a bad variable fails start naming it.
 *
 * The children run from the package root, where `oomkit/register` resolves to dist/ through the
 * package's own `exports` (self-reference), as it does for users from node_modules. dist/ must be
 * built (`npm test` builds it first).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../helpers/http.js'
import { eachLine } from '../helpers/lines.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DIST_REGISTER = fileURLToPath(new URL('../../dist/src/register.js', import.meta.url))
const ESM_APP = fileURLToPath(new URL('../fixtures/http-app.mjs', import.meta.url))
const CJS_APP = fileURLToPath(new URL('../fixtures/http-app.cjs', import.meta.url))

type Json = Record<string, unknown>

/** A child node process whose stdout is read line by line. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #waiters: (() => void)[] = []

  constructor(args: string[], env: Record<string, string>, cwd = ROOT) {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('OOMKIT_') && !k.startsWith('NODE_OPTIONS') && !k.startsWith('VITEST')),
    )
    this.proc = spawn(process.execPath, args, { cwd, env: { ...clean, ...env }, stdio: 'pipe' })
    eachLine(
      this.proc.stdout,
      (line) => this.lines.push(line),
      () => {
        for (const w of this.#waiters.splice(0)) w()
      },
    )
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        for (const w of this.#waiters.splice(0)) w()
        resolve({ code, signal })
      })
    })
    children.push(this)
  }

  /** Every stdout line that is JSON. */
  json(): Json[] {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Json]
      } catch {
        return []
      }
    })
  }

  /** The first JSON line that matches, waiting for it (or failing with what the child said). */
  async waitFor(match: (line: Json) => boolean, what: string, timeoutMs = 10_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.json().find(match)
      if (found !== undefined) return found
      if (this.proc.exitCode !== null || this.proc.signalCode !== null || Date.now() > deadline) {
        throw new Error(`child never printed ${what}; exit ${this.proc.exitCode}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
  }

  /** Closes stdin (the fixture apps exit then) and waits; kills after a while. */
  async finish(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.stdin.end()
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
    const result = await this.exited
    clearTimeout(timer)
    return result
  }
}

const children: Child[] = []
// After all: the bad-variable cases run concurrently and each waits for its own child to exit.
afterAll(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill('SIGKILL')
      await c.exited
    }
  }
})

beforeAll(() => {
  if (!existsSync(DIST_REGISTER)) throw new Error(`${DIST_REGISTER} is missing: run \`npm run build\` first (npm test does)`)
  const src = statSync(fileURLToPath(new URL('../../src/register.ts', import.meta.url))).mtimeMs
  if (statSync(DIST_REGISTER).mtimeMs < src) console.warn('WARNING: dist/src/register.js is older than src/register.ts: run `npm run build`')
})

const isApp = (l: Json): boolean => l.app === 'listening'
const isListening = (l: Json): boolean => l.msg === 'oomkit debug server listening'

/** Starts an app under oomkit/register and waits for both servers. */
async function startApp(args: string[], env: Record<string, string>): Promise<{ child: Child; appPort: number; debugPort: number; debugUrl: string }> {
  const child = new Child(args, env)
  const app = await child.waitFor(isApp, 'the app listening line')
  const listening = await child.waitFor(isListening, 'the oomkit listening line')
  const debugUrl = String(listening.url)
  return { child, appPort: Number(app.port), debugPort: Number(new URL(debugUrl).port), debugUrl }
}

describe('zero-code start', () => {
  it('node --import oomkit/register app.mjs: the app serves its routes, the debug server answers /debug/memory and /metrics', async () => {
    const { child, appPort, debugPort, debugUrl } = await startApp(['--import', 'oomkit/register', ESM_APP], { OOMKIT_PORT: '0' })
    expect(debugUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const hello = await send(appPort, { path: '/hello' })
    expect(hello.status).toBe(200)
    expect(hello.body).toBe('hello from the app\n')
    const memory = await send(debugPort, { path: '/debug/memory' })
    expect(memory.status).toBe(200)
    expect(memory.json).toHaveProperty('process')
    expect(memory.json).toHaveProperty('container')
    const metrics = await send(debugPort, { path: '/metrics' })
    expect(metrics.status).toBe(200)
    expect(metrics.body).toMatch(/^oomkit_v8_heap_limit_bytes \d+/m)
    expect(metrics.body).toMatch(/^process_cpu_user_seconds_total /m)
    // The audit line of that request is on stdout, as pino JSON.
    await child.waitFor((l) => l.audit === true && l.route === '/debug/memory', 'the audit line')
    expect(await child.finish()).toEqual({ code: 0, signal: null })
  })

  it('node -r oomkit/register app.cjs (CommonJS, require): the same, and require() gets the running instance', async () => {
    const { child, appPort, debugPort } = await startApp(['-r', 'oomkit/register', CJS_APP], { OOMKIT_PORT: '0' })
    expect(child.json().find(isApp)).toMatchObject({ module: 'cjs', kitRunning: true })
    expect((await send(appPort, { path: '/hello' })).body).toBe('hello from the cjs app\n')
    expect((await send(debugPort, { path: '/debug/memory' })).status).toBe(200)
    expect((await send(debugPort, { path: '/metrics' })).status).toBe(200)
    expect(await child.finish()).toEqual({ code: 0, signal: null })
  })

  it('the dist path works too, from any working directory', async () => {
    const child = new Child(['--import', DIST_REGISTER, ESM_APP], { OOMKIT_PORT: '0' }, tmpdir())
    const listening = await child.waitFor(isListening, 'the oomkit listening line')
    expect((await send(Number(new URL(String(listening.url)).port), { path: '/debug/memory' })).status).toBe(200)
    await child.finish()
  })

  it('OOMKIT_TOKEN and OOMKIT_METRICS_TOKEN protect the routes and never reach the log', async () => {
    const token = 'reg-T0ken-8c1f'
    const metricsToken = 'reg-Metr1cs-2b7a'
    const { child, debugPort } = await startApp(['--import', 'oomkit/register', ESM_APP], {
      OOMKIT_PORT: '0',
      OOMKIT_TOKEN: token,
      OOMKIT_METRICS_TOKEN: metricsToken,
    })
    expect(child.json().find(isListening)).toMatchObject({ auth: 'token' })
    expect((await send(debugPort, { path: '/debug/memory' })).status).toBe(401)
    expect((await send(debugPort, { path: '/debug/memory', headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await send(debugPort, { path: '/metrics' })).status).toBe(401)
    expect((await send(debugPort, { path: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(200)
    await child.waitFor((l) => l.audit === true && l.status === 200, 'the audit line')
    await child.finish()
    const all = child.lines.join('\n') + child.stderr
    expect(all).not.toContain(token)
    expect(all).not.toContain(metricsToken)
  })

  it('never keeps a finished process alive: a script that ends exits 0 with the debug server up', async () => {
    const child = new Child(['--import', 'oomkit/register', '--input-type=module', '-e', 'console.log(JSON.stringify({ done: true }))'], { OOMKIT_PORT: '0' })
    const started = Date.now()
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(child.json().some((l) => l.done === true)).toBe(true)
  })
})

describe('OOMKIT_PORT already taken by another process', () => {
  it("the app still serves its routes and the log says why oomkit's server is down (OOMKIT_LISTEN_FAILED, the port, EADDRINUSE)", async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const taken = (holder.address() as AddressInfo).port
    try {
      const child = new Child(['--import', DIST_REGISTER, ESM_APP], { OOMKIT_PORT: String(taken) })
      const app = await child.waitFor(isApp, 'the app listening line')
      const down = await child.waitFor((l) => l.code === 'OOMKIT_LISTEN_FAILED', 'the listen failure line')
      expect(down.level).toBe(50)
      expect(down.port).toBe(taken)
      expect(String(down.msg)).toContain('EADDRINUSE')
      expect(String(down.msg)).toContain(String(taken))
      expect(String(down.msg)).toContain('OOMKIT_PORT')
      expect(JSON.stringify(down.err)).toContain('EADDRINUSE')
      expect(child.json().some(isListening)).toBe(false)
      const hello = await send(Number(app.port), { path: '/hello' })
      expect(hello.status).toBe(200)
      expect(child.proc.exitCode).toBeNull()
      expect(await child.finish()).toEqual({ code: 0, signal: null })
    } finally {
      holder.close()
    }
  })
})

describe('a bad variable fails start, naming it', () => {
  const CASES: [string, string, string][] = [
    ['OOMKIT_LOG_INTERVAL', 'abc', 'OOMKIT_LOG_INTERVAL=abc: expected a duration such as 30s, 5m or 1500ms'],
    ['OOMKIT_PORT', '99999', 'OOMKIT_PORT=99999: expected a port number from 0 to 65535'],
    ['OOMKIT_WARN_RATIO', '2', 'OOMKIT_WARN_RATIO=2: expected a number above 0 and up to 1'],
    ['OOMKIT_HEAP_PROFILE', 'foo', 'OOMKIT_HEAP_PROFILE=foo: expected on, off, or a sampling interval in bytes'],
    ['OOMKIT_SAMPLE_INTERVAL', '5', 'OOMKIT_SAMPLE_INTERVAL=5: expected a duration such as 30s, 5m or 1500ms'],
    // Values of the right form that createOomkit refuses: still named by variable, not by option.
    ['OOMKIT_SAMPLE_INTERVAL', '2h', 'OOMKIT_SAMPLE_INTERVAL=2h: expected a duration from 100ms to 1h'],
    ['OOMKIT_LOG_INTERVAL', '500ms', 'OOMKIT_LOG_INTERVAL=500ms: expected a duration from 1s to 24h'],
    ['OOMKIT_WARN_RATIO', '0.97', 'OOMKIT_WARN_RATIO=0.97: expected a number below OOMKIT_CRITICAL_RATIO'],
    ['OOMKIT_TOKEN', 'has a space', 'OOMKIT_TOKEN: expected 1 to 4096 visible ASCII characters'],
  ]

  describe.concurrent.each(CASES)('%s=%j', (name, value, message) => {
    it.each([
      ['--import', ESM_APP],
      ['-r', CJS_APP],
    ])('%s: non-zero exit, the message on stderr, no stack, the app never starts', async (flag, app) => {
      const child = new Child([flag, 'oomkit/register', app], { OOMKIT_PORT: '0', [name]: value })
      // It must exit by itself; an app that started anyway is killed and fails below.
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), 25_000)
      const { code, signal } = await child.exited
      clearTimeout(timer)
      const said = `exit ${code} ${signal ?? ''}\nstderr:\n${child.stderr}\nstdout:\n${child.lines.join('\n')}`
      expect(code, said).not.toBe(0)
      expect(code, said).not.toBeNull()
      expect(child.stderr, said).toContain(message)
      expect(child.stderr).toContain('[OOMKIT_INVALID_ENV]')
      expect(child.stderr).not.toMatch(/^\s+at /m)
      if (name === 'OOMKIT_TOKEN') expect(child.stderr).not.toContain(value)
      expect(child.json().some(isApp)).toBe(false)
    })
  })
})
