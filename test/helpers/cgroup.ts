/**
 * Real cgroup v1 memory cgroups for tests: create one under /sys/fs/cgroup/memory, limit it, start
 * processes in it, read its files from outside (the kernel's view), and remove it afterwards.
 *
 * @example
 * const cg = MemoryCgroup.create()
 * cg.setLimit(256 * 1024 * 1024)
 * const child = cg.spawnNode(['child.mjs'])
 * ...
 * await cg.remove() // kills what is still running in it, then rmdir
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { requireOrSkip, skipLoudly } from './require.js'
import { sleep } from './time.js'

/** Where the cgroup v1 memory hierarchy is mounted on the test machines. */
export const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory'

/** What trying to create a memory cgroup found. */
export type CgroupProbe = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly kernelRefused: boolean }

function randomName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`
}

/**
 * Tries for real: mkdir a memory cgroup and rmdir it again. Not root is a missing requirement;
 * a failing mkdir as root is the kernel refusing (no v1 memory hierarchy, controller disabled,
 * read-only cgroupfs).
 */
export function probeMemoryCgroup(): CgroupProbe {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: `creating a memory cgroup needs root (uid is ${process.getuid?.() ?? 'unknown'})`, kernelRefused: false }
  }
  const dir = join(V1_MEMORY_ROOT, randomName('oomkit-test-probe'))
  try {
    mkdirSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    return { ok: false, reason: `the kernel refused to create a memory cgroup: mkdir ${dir} failed with ${code}`, kernelRefused: true }
  }
  try {
    if (!existsSync(join(dir, 'memory.limit_in_bytes'))) {
      return { ok: false, reason: `mkdir ${dir} worked but the new cgroup has no memory.limit_in_bytes (not a v1 memory hierarchy)`, kernelRefused: true }
    }
    return { ok: true }
  } finally {
    rmdirSync(dir)
  }
}

/**
 * Whether the real-cgroup tests can run here; prints why not. Not root skips (a failure under
 * OOMKIT_REQUIRE_ALL=1); a kernel that refuses the mkdir skips loudly even then.
 */
export function memoryCgroupsAvailable(): boolean {
  const probe = probeMemoryCgroup()
  if (probe.ok) return true
  if (probe.kernelRefused) return skipLoudly(probe.reason)
  return requireOrSkip(false, probe.reason)
}

/** The kernel's reading of a v1 memory cgroup, taken from outside. */
export interface KernelReading {
  readonly usageBytes: number
  readonly totalInactiveFileBytes: number
  /** usage − total_inactive_file, floored at 0 (cAdvisor's formula). */
  readonly workingSetBytes: number
}

/** A cgroup v1 memory cgroup this test process created. */
export class MemoryCgroup {
  readonly #children = new Set<ChildProcessWithoutNullStreams>()
  #removed = false

  private constructor(
    /** Directory name under the memory hierarchy. */
    readonly name: string,
  ) {}

  /** Absolute path of the cgroup directory. */
  get path(): string {
    return join(V1_MEMORY_ROOT, this.name)
  }

  /** The path `/proc/<pid>/cgroup` names for members (`/<name>`). */
  get cgroupPath(): string {
    return `/${this.name}`
  }

  /** Creates `/sys/fs/cgroup/memory/<prefix>-<pid>-<random>`. Throws when the kernel refuses. */
  static create(prefix = 'oomkit-test'): MemoryCgroup {
    const cg = new MemoryCgroup(randomName(prefix))
    mkdirSync(cg.path)
    return cg
  }

  /** Reads one of the cgroup's files. */
  read(file: string): string {
    return readFileSync(join(this.path, file), 'utf8')
  }

  /** Sets memory.limit_in_bytes. */
  setLimit(bytes: number): void {
    writeFileSync(join(this.path, 'memory.limit_in_bytes'), String(bytes))
  }

  /** memory.limit_in_bytes as the kernel reads it back. */
  limitBytes(): number {
    return Number(this.read('memory.limit_in_bytes').trim())
  }

  /** memory.stat as numbers. */
  stat(): Map<string, number> {
    const out = new Map<string, number>()
    for (const line of this.read('memory.stat').split('\n')) {
      const [key, value] = line.split(' ')
      if (key && value) out.set(key, Number(value))
    }
    return out
  }

  /** usage_in_bytes and total_inactive_file now, and the working set they give. */
  kernelReading(): KernelReading {
    const usageBytes = Number(this.read('memory.usage_in_bytes').trim())
    const totalInactiveFileBytes = this.stat().get('total_inactive_file') ?? 0
    return { usageBytes, totalInactiveFileBytes, workingSetBytes: Math.max(0, usageBytes - totalInactiveFileBytes) }
  }

  /** PIDs in the cgroup (cgroup.procs). */
  pids(): number[] {
    return this.read('cgroup.procs').split('\n').filter(Boolean).map(Number)
  }

  /**
   * Starts `node <args>` inside the cgroup: a shell writes its own pid to cgroup.procs and then
   * execs node, so node is a member from its first instruction and nothing it allocates is charged
   * elsewhere. stdin, stdout and stderr are pipes. `nice` lowers its CPU priority (drills that run
   * many services at once must not starve the test runner's own processes on two cores). `node` is
   * the binary to run (another Node version's), the test's own by default.
   */
  spawnNode(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; nice?: number; node?: string } = {}): ChildProcessWithoutNullStreams {
    if (this.#removed) throw new Error(`cgroup ${this.name} was removed`)
    const script = 'echo $$ > "$1" || exit 97; shift; exec "$@"'
    const node = options.node ?? process.execPath
    const command = options.nice === undefined ? [node, ...args] : ['nice', '-n', String(options.nice), node, ...args]
    const child = spawn('sh', ['-c', script, 'sh', join(this.path, 'cgroup.procs'), ...command], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  /** Kills every child this helper started (SIGKILL) and waits for them to exit. */
  async killChildren(): Promise<void> {
    await Promise.all(
      [...this.#children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGKILL')
          }),
      ),
    )
  }

  /**
   * Kills the children, then removes the cgroup. rmdir fails with EBUSY while a task is still
   * being torn down, so it retries for up to 5 s. Idempotent.
   */
  async remove(): Promise<void> {
    if (this.#removed) return
    await this.killChildren()
    const deadline = Date.now() + 5000
    for (;;) {
      try {
        rmdirSync(this.path)
        this.#removed = true
        return
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT') {
          this.#removed = true
          return
        }
        if (Date.now() > deadline) throw new Error(`could not remove cgroup ${this.path}: ${code}; tasks: ${this.pids().join(' ')}`, { cause: err })
        await sleep(20)
      }
    }
  }
}
