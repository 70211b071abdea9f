// `npm run bench [-- --quick] [-- --node 22] [-- --markdown] [-- name ...]`: runs every
// benchmarks/*.bench.mjs in turn (each in its own process, with --expose-gc), and fails when any of
// them fails its target.
//
//   --quick      every bench's short smoke version (not for the record)
//   --node N     run the benches with Node N (a major found in .cache/node, see
//                scripts/install-node.sh, or a path): their children run on it too
//   --headline   overhead.bench.mjs runs its headline sides only (bare, A/A, defaults, peers)
//   --markdown   the benches that print summary rows (overhead, scrape, idle-memory) print them,
//                and they are collected at the end: the rows of the table in benchmarks/README.md
//   name ...     only the benches whose file name contains one of the names
//   anything else (--rounds 3, --sides a,b, ...) is passed on to every bench run
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { here, nodeBinary, nodeVersion } from './lib.mjs'

// Options that take a value (`--rounds 3` or `--rounds=3`), passed on with it.
const VALUED = new Set(['--node', '--rounds', '--duration', '--warmup', '--connections', '--seconds', '--scrapes', '--sides', '--parts', '--mb', '--hours'])
const flags = []
const only = []
let nodeSpec
for (const args = process.argv.slice(2); args.length > 0;) {
  const a = args.shift()
  if (!a.startsWith('--')) only.push(a)
  else if (a === '--node' || a.startsWith('--node=')) nodeSpec = a === '--node' ? args.shift() : a.slice('--node='.length)
  else flags.push(VALUED.has(a) ? `${a}=${args.shift()}` : a)
}
const node = nodeBinary(nodeSpec)
// Benches that take --markdown (summary rows) and --headline.
const SUMMARY = new Set(['overhead.bench.mjs', 'scrape.bench.mjs', 'idle-memory.bench.mjs'])
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

function flagsFor(file) {
  return flags.filter((f) => {
    if (f === '--markdown') return SUMMARY.has(file)
    if (f === '--headline') return file === 'overhead.bench.mjs'
    return true
  })
}

console.log(`node ${nodeVersion(node)}, ${benches.length} benchmark(s): ${benches.join(', ')}`)
const failed = []
const rows = []
for (const file of benches) {
  console.log(`\n=== ${file}`)
  const markdown = flags.includes('--markdown') && SUMMARY.has(file)
  const r = spawnSync(node, ['--expose-gc', join(here, file), ...flagsFor(file)], {
    stdio: ['inherit', markdown ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
  })
  if (markdown) {
    process.stdout.write(r.stdout ?? '')
    rows.push(
      ...(r.stdout ?? '')
        .split('\n\n')[0]
        .split('\n')
        .filter((l) => l.startsWith('| ')),
    )
  }
  if (r.status !== 0) failed.push(`${file} (exit ${r.status ?? r.signal})`)
}
if (rows.length > 0) {
  console.log('\n| figure | target | result | Node | command |\n|---|---|---|---|---|')
  for (const row of rows) console.log(row)
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`)
  process.exit(1)
}
console.log(
  flags.includes('--quick')
    ? '\nevery benchmark exited 0 (quick runs: smoke tests; a bench judges only what it says it judges)'
    : '\nall benchmarks met their targets',
)
