// createCache and memoize from 'oomkit', where no kit is at hand: plain bounded caches before any
// instance runs, attached to the first one running once it starts, moved to the next when it
// stops, and to oomkit/register's instance when the app is preloaded with it.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Cache, createCache, memoize } from '../../src/cache/index.js'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../src/index.js'
import { captureLogger } from '../helpers/http.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const kits: Oomkit[] = []
const caches: { close(): void }[] = []
afterEach(async () => {
  for (const c of caches.splice(0)) c.close()
  await Promise.all(kits.splice(0).map((k) => k.stop()))
})

function kit(options: OomkitOptions = {}): { kit: Oomkit; registry: Registry; lines: ReturnType<typeof captureLogger>['lines'] } {
  const registry = new Registry()
  const cap = captureLogger()
  const k = createOomkit({ logger: cap.logger, registry, logIntervalMs: 0, defaultMetrics: false, heapProfile: false, ...options })
  kits.push(k)
  return { kit: k, registry, lines: cap.lines }
}

function global<K, V>(name: string, options: Parameters<typeof createCache<K, V>>[1]): Cache<K, V> {
  const c = createCache<K, V>(name, options)
  caches.push(c)
  return c
}

const names = (k: Oomkit): string[] => (k.report().caches?.caches ?? []).map((c) => c.name)
const series = async (registry: Registry, name: string): Promise<boolean> =>
  new RegExp(`^oomkit_cache_entries\\{cache="${name}"\\}`, 'm').test(await registry.metrics())

describe('createCache before and after an instance starts', () => {
  it('before any instance runs it is a plain bounded cache; the first instance started takes it in', async () => {
    const early = global<string, number>('early', { max: 2, maxBytes: '10%' })
    early.set('a', 1).set('b', 2).set('c', 3)
    expect(early.stats()).toMatchObject({ entries: 2, evictions: { capacity: 1 } })
    expect(early.stats().maxBytes).toBeGreaterThan(0) // 10% of this process's limit, read without an instance

    const a = kit()
    expect(names(a.kit)).toEqual([])
    a.kit.start()
    expect(names(a.kit)).toEqual(['early'])
    expect(a.kit.report().caches?.caches[0]).toMatchObject({ scope: 'global', entries: 2, maxBytesShare: '10%' })
    expect(await series(a.registry, 'early')).toBe(true)

    const after = global<string, number>('after', { max: 5 })
    after.set('x', 1)
    expect(names(a.kit).sort()).toEqual(['after', 'early'])
    const fn = memoize((n: number) => n + 1, { name: 'plusOne' })
    caches.push(fn)
    fn(1)
    expect(names(a.kit)).toContain('plusOne')
  })

  it('stays with the first instance while it runs, moves to the next one when it stops, and is plain again with none', async () => {
    const a = kit().kit.start()
    const b = kit()
    b.kit.start()
    const c = global<string, number>('mover', { max: 10 })
    c.set('k', 1)
    expect(names(a)).toEqual(['mover'])
    expect(names(b.kit)).toEqual([])
    await a.stop()
    expect(names(b.kit)).toEqual(['mover'])
    expect(await series(b.registry, 'mover')).toBe(true)
    await b.kit.stop()
    c.set('j', 2)
    expect(c.get('k')).toBe(1)
    expect(c.stats()).toMatchObject({ entries: 2, hits: 1 })
    // A new instance takes it in again, counters intact.
    const d = kit().kit.start()
    expect(d.report().caches?.caches).toEqual([expect.objectContaining({ name: 'mover', hits: 1, entries: 2 })])
  })

  it('an instance with caches: false takes none in; the next watching one does', () => {
    const off = kit({ caches: false }).kit.start()
    const c = global<string, number>('watched', { max: 10 })
    expect(off.report().caches).toBeNull()
    expect(c.stats().entries).toBe(0)
    const on = kit().kit.start()
    expect(names(on)).toEqual(['watched'])
    // kit.cache still makes bounded caches with caches: false.
    const local = off.cache<number, number>('local', { max: 1 })
    local.set(1, 1).set(2, 2)
    expect(local.size).toBe(1)
  })

  it('names are unique: among global caches, and against the running instance; closing frees one', () => {
    const first = global<string, number>('dup', { max: 1 })
    expect(() => createCache('dup', { max: 1 })).toThrow(
      expect.objectContaining({ code: 'OOMKIT_DUPLICATE_CACHE', message: expect.stringContaining('cache("dup") exists already') }),
    )
    first.close()
    global<string, number>('dup', { max: 1 })

    const { kit: k } = kit()
    k.start()
    k.cache('taken', { max: 1 })
    expect(() => createCache('taken', { max: 1 })).toThrow(/exists already in the running oomkit instance/)
    expect(() => k.cache('dup', { max: 1 })).toThrow(/exists already in this oomkit instance/)
  })

  it('a global cache whose name the next instance has is left out of it, with a warning', async () => {
    const a = kit().kit.start()
    const g = global<string, number>('clash', { max: 1 })
    const b = kit()
    b.kit.cache('clash', { max: 1 })
    b.kit.start()
    await a.stop()
    expect(b.lines).toContainEqual(
      expect.objectContaining({ level: 40, cache: 'clash', msg: expect.stringContaining('the instance has a cache of that name') }),
    )
    expect(b.kit.report().caches?.caches).toEqual([expect.objectContaining({ name: 'clash', scope: 'kit' })])
    g.set('still', 1)
    expect(g.get('still')).toBe(1)
  })

  it('a closed global cache leaves its instance', async () => {
    const a = kit()
    a.kit.start()
    const g = createCache('closing', { max: 1 })
    expect(await series(a.registry, 'closing')).toBe(true)
    g.close()
    expect(await series(a.registry, 'closing')).toBe(false)
    expect(names(a.kit)).toEqual([])
  })
})

describe('createCache under oomkit/register', () => {
  it('attaches to the instance oomkit/register started, not to one the app starts later', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OOMKIT_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
    const r = spawnSync(process.execPath, ['--import', 'oomkit/register', fileURLToPath(new URL('./fixtures/register-app.mjs', import.meta.url))], {
      cwd: ROOT,
      env: { ...env, OOMKIT_PORT: '0', OOMKIT_LOG_INTERVAL: '0', OOMKIT_HEAP_PROFILE: 'off' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const last = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{"register"'))
      .pop()
    expect(JSON.parse(last ?? '{}')).toEqual({ register: ['from-library'], own: [], metrics: true })
  })
})
