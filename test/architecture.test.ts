import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// The shape the code keeps (issue 7): data flows one way, sources → sampler → report →
// metrics | logs | http, with no import cycles, type-only imports included.

const ROOT = resolve(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

/** Every relative module a file imports or re-exports, type-only ones too, as repo-relative .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
    out.push(relative(ROOT, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))))
  }
  return out
}

const graph = new Map<string, string[]>(sourceFiles(SRC).map((f) => [relative(ROOT, f), importsOf(f)]))

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0
  const stack: string[] = []
  const on = new Set<string>()
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const found: string[][] = []
  const visit = (v: string): void => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.sort())
    }
  }
  for (const v of g.keys()) if (!idx.has(v)) visit(v)
  return found
}

describe('architecture', () => {
  it('reads every import of src (the graph is not empty and every relative import resolves to a file)', () => {
    expect(graph.size).toBeGreaterThan(40)
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${f} -> ${d}`))
    expect(missing).toEqual([])
  })

  it('has no import cycles, type-only imports included', () => {
    expect(cycles(graph)).toEqual([])
  })

  it('finds a cycle when there is one (the checker itself works)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ])
    expect(cycles(g)).toEqual([['a', 'b', 'c']])
  })

  it('keeps data flowing one way: container/, memory/ and metrics/ never import http/, logging/ or a capability', () => {
    const lower = [...graph].filter(([f]) => /^src\/(container|memory|metrics)\//.test(f))
    expect(lower.length).toBeGreaterThan(10)
    const bad = lower.flatMap(([f, deps]) =>
      deps.filter((d) => /^src\/(http|logging|heap|diagnostics)\/|^src\/(kit|capabilities|capability|config)\.ts$/.test(d)).map((d) => `${f} -> ${d}`),
    )
    expect(bad).toEqual([])
  })

  it('container/ reads only the cgroup: it imports nothing outside its folder', () => {
    const bad = [...graph]
      .filter(([f]) => f.startsWith('src/container/'))
      .flatMap(([f, deps]) => deps.filter((d) => !d.startsWith('src/container/')).map((d) => `${f} -> ${d}`))
    expect(bad).toEqual([])
  })

  it('keeps kit.ts wiring: well under 250 lines, no capability module imported but the list', () => {
    const kit = readFileSync(join(SRC, 'kit.ts'), 'utf8')
    expect(kit.split('\n').length).toBeLessThan(250)
    expect((graph.get('src/kit.ts') ?? []).filter((d) => d.startsWith('src/heap/'))).toEqual([])
  })
})
