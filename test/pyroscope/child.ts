// A node child process for the Pyroscope suites: stdout read as JSON lines (oomkit's pino log and
// the fixture's own lines), stderr kept, stdin closed to end it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { eachLine } from '../helpers/lines.js'

export type Json = Record<string, unknown>

/** The environment without the test runner's own OOMKIT_*, PYROSCOPE_* and NODE_OPTIONS. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OOMKIT_|PYROSCOPE_|NODE_OPTIONS|VITEST|OTEL_|POD_)/.test(k)))
  return { ...clean, ...extra }
}

/** One child node process. */
export class Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly lines: Json[] = []
  stderr = ''
  readonly exited: Promise<number | null>

  constructor(args: string[], env: Record<string, string>, cwd: string) {
    this.proc = spawn(process.execPath, args, { cwd, env: cleanEnv(env), stdio: 'pipe' })
    eachLine(this.proc.stdout, (line) => {
      try {
        this.lines.push(JSON.parse(line) as Json)
      } catch {
        this.lines.push({ text: line })
      }
    })
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (c: string) => (this.stderr += c))
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
  }

  /** The first line that matches, waiting for it; fails with what the child said. */
  async waitFor(match: (l: Json) => boolean, what: string, timeoutMs = 15_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.lines.find(match)
      if (found !== undefined) return found
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `child never printed ${what}; exit ${this.proc.exitCode}\nstdout:\n${this.lines
            .map((l) => JSON.stringify(l))
            .join('\n')
            .slice(-4000)}\nstderr:\n${this.stderr.slice(-4000)}`,
        )
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Closes stdin and waits for the exit (SIGKILL after `timeoutMs`). */
  async finish(timeoutMs = 20_000): Promise<number | null> {
    this.proc.stdin.end()
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}
