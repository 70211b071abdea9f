/**
 * Shared pieces of the leak-tracking tests: a kit with a test clock (so thresholds pass without
 * sleeping), a captured logger, its own registry; the database URLs (the defaults match
 * scripts/test-databases.sh) and whether those servers answer; a scrape reader.
 */
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { Registry } from 'prom-client'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../src/index.js'
import type { LeaksOptions } from '../../src/leaks/index.js'
import { type Captured, captureLogger } from '../helpers/http.js'

/** PostgreSQL for the tests (scripts/test-databases.sh sets it up). */
export const PG_URL = process.env.OOMKIT_TEST_PG_URL ?? 'postgres://oomkit:oomkit@127.0.0.1:5432/oomkit'
/** MariaDB for the tests (scripts/test-databases.sh sets it up). */
export const MYSQL_URL = process.env.OOMKIT_TEST_MYSQL_URL ?? 'mysql://oomkit:oomkit@127.0.0.1:3306/oomkit'

/** Why a database test would skip, pointing at the script. */
export function unreachable(what: string, url: string): string {
  return `${what} at ${new URL(url).host} is not reachable: run scripts/test-databases.sh (or set ${what === 'PostgreSQL' ? 'OOMKIT_TEST_PG_URL' : 'OOMKIT_TEST_MYSQL_URL'})`
}

/** Whether something accepts TCP connections at the URL's host and port (within 2 s). */
export function reachable(url: string): Promise<boolean> {
  const u = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), u.hostname)
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** A kit whose leak tracker runs on a clock the test moves. */
export interface LeakKit extends Captured {
  readonly kit: Oomkit
  readonly registry: Registry
  /** Moves the tracker's clock forward. */
  advance(ms: number): void
  /** Lines with this message. */
  linesWith(msg: string): Record<string, unknown>[]
  /** The audit lines of debug requests. */
  audits(): Record<string, unknown>[]
  /** One series' value in a fresh scrape, or undefined when absent. */
  metric(name: string, labels: Record<string, string>): Promise<number | undefined>
}

/** Creates (and starts) a kit with a test clock and the given leak options; sockets off unless asked. */
export function leakKit(leaks: Omit<LeaksOptions, 'clock'> = {}, options: Omit<OomkitOptions, 'logger' | 'registry' | 'leaks'> = {}): LeakKit {
  const cap = captureLogger()
  const registry = new Registry()
  let now = 1_000_000
  const kit = createOomkit({
    heapProfile: false,
    defaultMetrics: false,
    logIntervalMs: 0,
    ...options,
    logger: cap.logger,
    registry,
    leaks: { sockets: false, ...leaks, clock: () => now },
  }).start()
  return {
    ...cap,
    kit,
    registry,
    advance: (ms) => void (now += ms),
    linesWith: (msg) => cap.lines.filter((l) => l.msg === msg),
    audits: () => cap.lines.filter((l) => l.audit === true),
    metric: async (name, labels) => scraped(await registry.metrics(), name, labels),
  }
}

/** A series' value in exposition text. */
export function scraped(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const open = line.indexOf('{')
    const labelText = open >= 0 ? line.slice(open + 1, line.lastIndexOf('}')) : ''
    if (want.every((w) => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

/** The 1-based line of the only line of `file` containing `marker`. */
export function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n')
  const found = lines.flatMap((l, i) => (l.includes(marker) ? [i + 1] : []))
  if (found.length !== 1) throw new Error(`${marker} appears ${found.length} times in ${file}`)
  return found[0] as number
}

/** Runs full GCs (needs --expose-gc) until `check` holds; FinalizationRegistry callbacks run between them. */
export async function gcUntil(check: () => boolean, what: string): Promise<void> {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error('this test needs node --expose-gc (vitest.config.ts passes it to the forks)')
  for (let i = 0; i < 50 && !check(); i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  if (!check()) throw new Error(`timed out waiting for ${what}`)
}
