// The README's quick start, pasted into a fresh directory that installs the packed tarball: the
// ESM and CommonJS snippets and `node --import oomkit/register` must work as written (only the
// ports are swapped for free ones, so the test never collides with anything else running).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/http.js'

const root = join(import.meta.dirname, '..', '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
let dir: string
const children: ChildProcess[] = []

function snippet(tag: string): string {
  const m = new RegExp('```js\\n// quickstart: ' + tag + '\\n([\\s\\S]*?)```').exec(readme)
  if (m === null) throw new Error(`README has no "// quickstart: ${tag}" block`)
  return m[1] as string
}

async function waitFor(url: string, timeoutMs = 15_000): Promise<Response> {
  const until = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < until) {
    try {
      const res = await fetch(url)
      if (res.status === 200) return res
      last = res.status
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not answer 200 in time: ${String(last)}`)
}

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  child.on('exit', (code, signal) => {
    if (code !== null && code !== 0) console.error(`child ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`)
    void signal
  })
  children.push(child)
  return child
}

async function checkOomkit(port: number): Promise<void> {
  const report = (await (await waitFor(`http://127.0.0.1:${port}/debug/memory`)).json()) as Record<string, unknown>
  expect(report).toHaveProperty('process.rss')
  expect(report).toHaveProperty('budget.verdict')
  const metrics = await (await waitFor(`http://127.0.0.1:${port}/metrics`)).text()
  expect(metrics).toMatch(/^oomkit_v8_heap_limit_bytes \d+/m)
  expect(metrics).toMatch(/^process_cpu_user_seconds_total /m)
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oomkit-quickstart-'))
  // npm test built dist/ already; packing must not rebuild it under the other test files' feet.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: 'ignore' })
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
  expect(tarball).toBeDefined()
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'quickstart-app', version: '1.0.0', private: true }))
  const peer = JSON.parse(readFileSync(join(root, 'node_modules', 'prom-client', 'package.json'), 'utf8')).version as string
  // "npm install oomkit prom-client", from the tarball rather than the registry.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`, `prom-client@${peer}`], {
    cwd: dir,
    stdio: 'ignore',
    timeout: 120_000,
  })
}, 180_000)

afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

describe('README quick start from the packed tarball', () => {
  it('ESM app', async () => {
    const [oomkitPort, appPort] = [await freePort(), await freePort()]
    writeFileSync(join(dir, 'app.mjs'), snippet('esm').replace('9469', String(oomkitPort)).replace('3000', String(appPort)))
    run(['app.mjs'])
    await checkOomkit(oomkitPort)
    expect(await (await waitFor(`http://127.0.0.1:${appPort}/`)).text()).toBe('hello\n')
  })

  it('CommonJS app with require()', async () => {
    const [oomkitPort, appPort] = [await freePort(), await freePort()]
    writeFileSync(join(dir, 'app.cjs'), snippet('cjs').replace('9469', String(oomkitPort)).replace('3000', String(appPort)))
    run(['app.cjs'])
    await checkOomkit(oomkitPort)
    expect(await (await waitFor(`http://127.0.0.1:${appPort}/`)).text()).toBe('hello\n')
  })

  it('node --import oomkit/register and node -r oomkit/register, without code changes', async () => {
    writeFileSync(join(dir, 'plain.cjs'), "require('node:http').createServer((q, s) => s.end('plain\\n')).listen(0)\n")
    for (const flag of ['--import', '-r']) {
      const port = await freePort()
      run([flag, 'oomkit/register', 'plain.cjs'], { OOMKIT_PORT: String(port) })
      await checkOomkit(port)
    }
  })

  it('TypeScript: every report section and capability option is typed (no unknown), from the installed types', () => {
    // Compiled with the consumer's own strict tsconfig against the tarball's .d.ts files, so the
    // capability sections declared in each capability's folder must reach users through `oomkit`.
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import { createOomkit, type HeapProfileSection, type MemoryReport, type SnapshotStatus } from 'oomkit'",
        'const kit = createOomkit({ snapshot: { cooldownMs: 1000 }, heapProfile: { intervalBytes: 65536 } })',
        'const r: MemoryReport = kit.report()',
        'const possible: boolean | undefined = r.snapshot?.possible',
        'const snapshot: SnapshotStatus | null = r.snapshot',
        'const profile: HeapProfileSection | null = r.profile',
        "const backend: 'datadog' | 'inspector' | undefined = r.profile?.backend",
        // Every capability's section, also those whose folder the entry point exports nothing else of.
        'const leak: boolean | undefined = r.trend?.leakSuspected',
        'type UnknownKeys = { [K in keyof MemoryReport]-?: unknown extends MemoryReport[K] ? K : never }[keyof MemoryReport]',
        'const noUnknown: [UnknownKeys] extends [never] ? true : false = true',
        '// @ts-expect-error a section is null when its capability is off',
        'void r.snapshot.possible',
        '// @ts-expect-error capability options are typed',
        'createOomkit({ snapshot: { cooldown: 1 } })',
        '// @ts-expect-error capability options are typed',
        "createOomkit({ heapProfile: { intervalBytes: '1' } })",
        'void [possible, snapshot, profile, backend, leak, noUnknown]',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: false,
          exactOptionalPropertyTypes: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    )
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')), type: 'module' }))
    let out = ''
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: 'pipe',
      })
    } catch (err) {
      out = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`
    }
    expect(out).toBe('')
  })
})
