// `npm run bench [-- --quick] [-- name]`: runs every benchmarks/*.bench.mjs in turn (each in its own
// process, with --expose-gc), and fails when any of them fails its target.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const flags = args.filter((a) => a.startsWith('--'))
const only = args.filter((a) => !a.startsWith('--'))
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

console.log(`node ${process.version}, ${benches.length} benchmark(s): ${benches.join(', ')}`)
const failed = []
for (const file of benches) {
  console.log(`\n=== ${file}`)
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, file), ...flags], { stdio: 'inherit' })
  if (r.status !== 0) failed.push(`${file} (exit ${r.status ?? r.signal})`)
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`)
  process.exit(1)
}
console.log('\nall benchmarks met their targets')
