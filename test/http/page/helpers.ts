/**
 * Shared pieces of the memory page suites: a real kit on a writable copy of the 256 MiB cgroup v2
 * fixture, driven by an injected clock (`internals(kit).setClock`), whose working set the test
 * raises sample by sample into a real growing trend; the run marker a dead earlier run leaves.
 *
 * @example
 * const k = pageKit()
 * await k.grow(72)   // six minutes of samples, 5 s apart, the working set climbing
 * k.kit.report().trend?.forecasts.container  // seconds to the container limit
 */
import { leaveDeadRun as leaveDeadRunAgo } from '../../last-words/helpers.js'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { type Oomkit, type OomkitOptions, createOomkit } from '../../../src/index.js'
import { internals } from '../../../src/internal.js'
import { fixture } from '../../fixtures/cgroup/expected.js'
import { captureLogger } from '../../helpers/http.js'
import { prng } from '../../helpers/random.js'

/** Bytes in a MiB. */
export const MiB = 1024 * 1024

/** The fixture's `inactive_file`: its working set is memory.current less this. */
export const FIXTURE_INACTIVE = 25165824

/** The fixture's limit. */
export const FIXTURE_LIMIT = 256 * MiB

/** A kit on a copy of the fixture, with its own clock and diagnosticsDir. */
export interface PageKit {
  readonly kit: Oomkit
  /** Where the copy of the fixture is (and the diagnostics dir under it). */
  readonly dir: string
  readonly diagnosticsDir: string
  /** The kit's clock, epoch ms; `grow` moves it on. */
  now: number
  /** Takes `samples` samples 5 s apart, the working set climbing 0.55 MiB each from 166 MiB (with a little noise); a real major GC every 12. */
  grow(samples: number): Promise<void>
  /** Stops the kit and removes the copy. */
  close(): Promise<void>
}

/**
 * Creates the kit (not started: `start` it after leaving evidence). The sampling timer is set to
 * an hour, so every sample is one the test takes.
 */
export function pageKit(options: Omit<OomkitOptions, 'logger' | 'registry'> = {}): PageKit {
  const dir = mkdtempSync(join(tmpdir(), 'oomkit-page-'))
  const root = join(dir, 'cgroup')
  cpSync(fixture('v2-limited-256m').root, root, { recursive: true })
  const diagnosticsDir = join(dir, 'diag')
  const kit = createOomkit({
    cgroupRoot: join(root, 'sys/fs/cgroup'),
    procRoot: join(root, 'proc'),
    diagnosticsDir,
    logger: captureLogger().logger,
    registry: new Registry(),
    logIntervalMs: 0,
    defaultMetrics: false,
    sampleIntervalMs: 3_600_000,
    ...options,
  })
  const rnd = prng(12)
  let step = 0
  const k: PageKit = {
    kit,
    dir,
    diagnosticsDir,
    now: Date.now(),
    async grow(samples) {
      for (let i = 0; i < samples; i++, step++) {
        k.now += 5000
        const ws = 166 * MiB + step * 0.55 * MiB + (rnd() - 0.5) * 0.2 * MiB
        writeFileSync(join(root, 'sys/fs/cgroup/memory.current'), `${Math.round(ws) + FIXTURE_INACTIVE}\n`)
        if (step % 12 === 5) {
          globalThis.gc?.()
          // The GC observer hears of it on a later turn of the event loop.
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        internals(kit).tick()
      }
    },
    async close() {
      await kit.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  internals(kit).setClock(() => k.now)
  return k
}

export { deadPid } from '../../last-words/helpers.js'

/** Leaves the marker of a run that died at 97% of the fixture's limit ten minutes ago. */
export function leaveDeadRun(diagnosticsDir: string, pid: number): void {
  leaveDeadRunAgo(diagnosticsDir, pid, 600_000)
}
