import { readFileSync, readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// STYLE.md: TSDoc on every exported symbol. Checked on the source, so a new export without one
// fails here rather than in a review.
const ROOT = resolve(import.meta.dirname, '..')

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

/** `file:line name` of every exported declaration (and public class member) with no TSDoc block right above it. */
function undocumented(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const out: string[] = []
  let inExportedClass = false
  lines.forEach((line, i) => {
    const top = /^export (?:declare )?(?:async )?(?:abstract )?(function|class|interface|type|const|let) (\w+)/.exec(line)
    if (top !== null) inExportedClass = top[1] === 'class'
    else if (/^\S/.test(line) && !line.startsWith('}')) inExportedClass = false
    // Public members of exported classes: two-space indent, not private (#, private), not a constructor.
    const member = inExportedClass ? /^ {2}(?:static |readonly |async |get |set )*([a-zA-Z]\w*)\s*[(<:=]/.exec(line) : null
    const name = top?.[2] ?? (member !== null && member[1] !== 'constructor' && !/^ {2}(private|protected) /.test(line) ? member[1] : undefined)
    if (name === undefined) return
    let j = i - 1
    while (j >= 0 && /^\s*(\/\/|@)/.test(lines[j] as string)) j--
    if (j < 0 || !(lines[j] as string).trimEnd().endsWith('*/')) out.push(`${relative(ROOT, file)}:${i + 1} ${name}`)
  })
  return out
}

describe('TSDoc', () => {
  it('documents every exported symbol and every public member of an exported class', () => {
    const all = [...files(join(ROOT, 'src')), ...files(join(ROOT, 'middleware'))]
    expect(all.length).toBeGreaterThan(50)
    expect(all.flatMap(undocumented)).toEqual([])
  })
})
