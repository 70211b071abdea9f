/**
 * Random requests against the running standalone server: paths built from a vocabulary of
 * traps (encoded slashes and dots, dot segments, unicode, NUL, very long segments), query strings,
 * methods and headers (Authorization, Host, Accept, Accept-Encoding). Every answer must be 2xx or
 * 4xx, a 2xx from a debug route must have had the right token (or a loopback Host without one),
 * the server must answer on afterwards, and stop() must leave no handle behind.
 *
 * Reproduce a failure with OOMKIT_FUZZ_SEED=<the printed seed>; OOMKIT_FUZZ_COUNT changes the count.
 */
import { Agent, request } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { canonicalize } from '../../src/http/paths.js'
import { activeResources, leakedResources, rawSend, send, testKit } from '../helpers/http.js'
import { prng } from '../helpers/random.js'

const SEED = Number(process.env.OOMKIT_FUZZ_SEED ?? 0x5eed_0bad)
const COUNT = Number(process.env.OOMKIT_FUZZ_COUNT ?? 3000)
const TOKEN = 'fUzz-T0ken.9d1c~c0ffee'

/** A string's UTF-8 bytes as Latin-1 characters: node's client sends them as those raw bytes. */
function utf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}

const EXACT = ['/debug/memory', '/metrics', '/debug/test-echo']
const SEGMENTS = [
  'debug',
  'debug',
  'debug',
  'memory',
  'memory',
  'metrics',
  'metrics',
  'heap',
  'pprof',
  'top',
  'test-echo',
  'leaks',
  'DEBUG',
  'Memory',
  'METRICS',
  '%2f',
  '%2F',
  '%2e%2e',
  '%2E%2E',
  '%2e',
  '..',
  '.',
  '',
  '%00',
  '%5c',
  '\\',
  '%64ebug',
  '%6demory',
  'debug%2fmemory',
  'memory%2f',
  '%25',
  '%25%32%66',
  '%zz',
  '%',
  '%e2%98%83',
  '%E2%98',
  '%c0%af',
  utf8('☃'),
  utf8('débug'),
  'é',
  'ü%20x',
  ';',
  'memory;x',
  '*',
  '~',
  '-',
  'debugger',
  'debug-foo',
  'x'.repeat(300),
  'y'.repeat(4000),
]
const QUERIES = [
  '',
  '',
  '',
  '?',
  '?n=5',
  '?n=abc',
  '?n=0',
  '?n=1&n=2',
  `?token=${TOKEN}`,
  `?access_token=${TOKEN}`,
  '?limit=10',
  '?force=1',
  '?%zz',
  '?n=%zz',
  '?a=1&b=2',
  '?n=',
  `?x=${utf8('☃')}`,
  '?n=99999999999999999999',
  `?${'q'.repeat(2000)}`,
  '?n=5#frag',
  '#frag',
]
const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']
const AUTHS: (string | string[] | undefined)[] = [
  undefined,
  undefined,
  `Bearer ${TOKEN}`,
  `Bearer ${TOKEN}`,
  `bearer ${TOKEN}`,
  'Bearer wrong',
  'Bearer ',
  'Bearer',
  '',
  `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
  [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`],
  `Bearer ${TOKEN} x`,
  `Bearer ${'z'.repeat(10_000)}`,
  `Bearer ${TOKEN}\t`,
  'Bearer é',
  `Bearer  ${TOKEN}  `,
]
const HOSTS: (string | undefined)[] = [
  undefined,
  undefined,
  'localhost',
  'localhost:9469',
  '127.0.0.1',
  '[::1]:1',
  'evil.com',
  'localhost.evil.com',
  '127.0.0.1.nip.io',
  '[::1]junk',
  '',
  'LOCALHOST',
  '[::1',
  'a:b:c',
  '0',
  '999.999.999.999',
]
const ACCEPTS = [
  undefined,
  'application/json',
  'text/html',
  '*/*',
  'application/openmetrics-text; version=1.0.0',
  'text/plain;version=0.0.4',
  'garbage/;;;',
  'x'.repeat(3000),
]
const ENCODINGS = [undefined, 'gzip', 'br, gzip;q=0.5', 'identity', '*', 'gzip;q=nope', 'zstd']

interface Case {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string | string[]>
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T
}

function randomCase(rnd: () => number): Case {
  const n = 1 + Math.floor(rnd() * 5)
  const segments: string[] = []
  for (let i = 0; i < n; i++) segments.push(pick(rnd, SEGMENTS))
  let path = `/${segments.join(rnd() < 0.1 ? '//' : '/')}`
  if (rnd() < 0.1) path += '/'
  if (rnd() < 0.05) path = `/${path}`
  if (rnd() < 0.2) path = pick(rnd, EXACT)
  path += pick(rnd, QUERIES)
  const headers: Record<string, string | string[]> = {}
  const auth = pick(rnd, AUTHS)
  if (auth !== undefined) headers.authorization = auth
  const host = pick(rnd, HOSTS)
  if (host !== undefined) headers.host = host
  const accept = pick(rnd, ACCEPTS)
  if (accept !== undefined) headers.accept = accept
  const encoding = pick(rnd, ENCODINGS)
  if (encoding !== undefined) headers['accept-encoding'] = encoding
  return { method: pick(rnd, METHODS), path, headers }
}

/** What the server should have decided for a debug route, computed independently of the handler. */
function rightToken(headers: Case['headers']): boolean {
  const a = headers.authorization
  // The parser strips optional whitespace (spaces, tabs) around a field value (RFC 9110 §5.5).
  return typeof a === 'string' && new RegExp(`^bearer +${TOKEN.replace(/[.~]/g, '\\$&')}$`, 'i').test(a.replace(/^[ \t]+|[ \t]+$/g, ''))
}

function loopbackHost(headers: Case['headers']): boolean {
  const h = headers.host
  if (h === undefined) return true // node's client sends 127.0.0.1:<port>
  return typeof h === 'string' && /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i.test(h)
}

interface Outcome {
  readonly status: number | null
  readonly headers: Record<string, unknown>
  readonly error?: string
}

function fire(agent: Agent, port: number, c: Case): Promise<Outcome> {
  return new Promise((resolve) => {
    let req
    try {
      req = request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers: c.headers, agent, setHost: c.headers.host === undefined }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? null, headers: res.headers }))
        res.on('error', (err) => resolve({ status: res.statusCode ?? null, headers: res.headers, error: err.message }))
      })
    } catch (err) {
      // node's client refuses some paths and header values itself: nothing was sent.
      resolve({ status: null, headers: {}, error: `client refused: ${(err as Error).message}` })
      return
    }
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.on('error', (err: Error) => resolve({ status: null, headers: {}, error: err.message }))
    req.end()
  })
}

async function fuzz(port: number, seed: number, count: number, tokenConfigured: boolean): Promise<{ answered: number; statuses: Map<number, number> }> {
  const rnd = prng(seed)
  const agent = new Agent({ keepAlive: false, maxSockets: 16 })
  const statuses = new Map<number, number>()
  let answered = 0
  const refusedByClient = new Map<string, number>()
  const failures: string[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const c = randomCase(rnd)
      const out = await fire(agent, port, c)
      const where = `#${i} ${c.method} ${c.path.slice(0, 120)} ${JSON.stringify(c.headers).slice(0, 200)}`
      if (out.status === null) {
        if (out.error?.startsWith('client refused') !== true) failures.push(`${where}: no answer (${out.error})`)
        else refusedByClient.set(out.error, (refusedByClient.get(out.error) ?? 0) + 1)
        continue
      }
      answered++
      statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1)
      if (out.status >= 500 || out.status < 200) failures.push(`${where}: ${out.status}`)
      const path = canonicalize(c.path)
      const debug = path !== null && (path.canonical === '/debug' || path.canonical.startsWith('/debug/'))
      if (debug && out.status >= 200 && out.status < 300) {
        const allowed = tokenConfigured ? rightToken(c.headers) : loopbackHost(c.headers)
        if (!allowed) failures.push(`${where}: ${out.status} without the right credentials`)
      }
      if (debug && [200, 401, 403, 404, 405].includes(out.status)) {
        if (out.headers['cache-control'] !== 'no-store' || out.headers['x-content-type-options'] !== 'nosniff')
          failures.push(`${where}: ${out.status} without the debug headers`)
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  agent.destroy()
  console.log(`seed ${seed}: refused by node's client (never sent): ${JSON.stringify(Object.fromEntries(refusedByClient))}`)
  expect(failures.slice(0, 20), `seed ${seed}: ${failures.length} failures`).toEqual([])
  return { answered, statuses }
}

/** Raw bytes a client library would never send: they must get a 4xx or a closed socket, never a 5xx. */
async function rawFuzz(port: number, seed: number, count: number): Promise<void> {
  const rnd = prng(seed ^ 0x7a11)
  const junk = (): string => {
    const len = Math.floor(rnd() * 40)
    let s = ''
    for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rnd() * 256))
    return s
  }
  const failures: string[] = []
  const jobs: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const kind = Math.floor(rnd() * 4)
    const target = kind === 0 ? `/debug/${junk()}` : kind === 1 ? '/debug/memory' : `/${encodeURIComponent(junk())}`
    const header = kind === 1 ? `Authorization: Bearer ${junk()}\r\n` : kind === 2 ? `${junk().replace(/[:\r\n]/g, '')}: ${junk()}\r\n` : `Host: ${junk()}\r\n`
    const data = Buffer.from(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${header}\r\n`, 'latin1')
    jobs.push(
      rawSend(port, data, '127.0.0.1', 5000).then(
        (r) => {
          if (r.status !== null && (r.status >= 500 || r.status < 200))
            failures.push(`raw #${i} ${JSON.stringify(data.toString('latin1')).slice(0, 200)}: ${r.status}`)
        },
        (err: Error) => {
          failures.push(`raw #${i}: ${err.message}`)
        },
      ),
    )
    if (jobs.length >= 16) await Promise.all(jobs.splice(0))
  }
  await Promise.all(jobs)
  expect(failures.slice(0, 20), `seed ${seed}: ${failures.length} raw failures`).toEqual([])
}

describe('fuzz: standalone server', () => {
  const before = activeResources()
  afterAll(() => {
    console.log(`fuzz seed ${SEED} (set OOMKIT_FUZZ_SEED=${SEED} to replay), ${COUNT} requests per run`)
  })

  it.each([
    ['with a token', true],
    ['without a token (loopback rules)', false],
  ] as const)('%s: every answer 2xx/4xx, no debug 2xx without credentials, the server answers on, nothing left open', async (_name, withToken) => {
    // No heap snapshots: /debug/heap is the heap suites' (a snapshot blocks for seconds); here it is a 404 after auth.
    const t = testKit(true, { snapshot: false })
    const server = await t.kit.listen(withToken ? { port: 0, token: TOKEN } : { port: 0 })
    const port = server.address.port
    const seed = withToken ? SEED : SEED + 1
    const { answered, statuses } = await fuzz(port, seed, COUNT, withToken)
    await rawFuzz(port, seed, 300)
    console.log(`fuzz ${withToken ? 'token' : 'no token'} seed ${seed}: ${answered} answered, statuses ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(answered).toBeGreaterThan(COUNT * 0.9)
    // Both sides of the auth decision were exercised.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
    expect((statuses.get(withToken ? 401 : 403) ?? 0) + (statuses.get(404) ?? 0)).toBeGreaterThan(0)
    // Still up and answering.
    const after = await send(port, { path: '/debug/memory', headers: withToken ? { authorization: `Bearer ${TOKEN}` } : {} })
    expect(after.status).toBe(200)
    // No route failed and the token never reached a log line.
    expect(t.lines.filter((l) => l.level >= 50)).toEqual([])
    expect(t.text.filter((l) => l.includes(TOKEN))).toEqual([])
    await t.kit.stop()
    expect(await leakedResources(before)).toEqual([])
  })
})
