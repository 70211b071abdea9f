// Checks that the optional native dependency @datadog/pprof loads and works on the running Node:
// requires it the way oomkit does (createRequire), starts its heap profiler at oomkit's defaults
// (512 KiB interval, 64 frames), allocates, reads heap.v8Profile(), stops. Prints one OK line
// with the Node version, its module ABI and the add-on file that loaded; exits 1 with the
// reason otherwise. CI runs it once per Node version before that version's tests.
//
//   node scripts/check-native.mjs
import fs from 'node:fs'
import { createRequire } from 'node:module'

const where = `Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`

function fail(msg, err) {
  console.error(`check-native: FAIL on ${where}: ${msg}${err ? `\n${err.stack ?? err}` : ''}`)
  process.exit(1)
}

const require = createRequire(import.meta.url)
let pprof
try {
  pprof = require('@datadog/pprof')
} catch (err) {
  fail('@datadog/pprof did not load (no prebuilt add-on for this ABI? see node_modules/@datadog/pprof/prebuilds)', err)
}
const { heap } = pprof
if (typeof heap?.start !== 'function' || typeof heap.v8Profile !== 'function' || typeof heap.stop !== 'function') {
  fail('@datadog/pprof has no heap.start/heap.v8Profile/heap.stop')
}

let profile
try {
  heap.start(524288, 64)
  const keep = []
  for (let i = 0; i < 200_000; i++) keep.push({ i, s: `item-${i}` })
  profile = heap.v8Profile()
  keep.length = 0
} catch (err) {
  fail('the heap profiler did not start or read', err)
} finally {
  try {
    heap.stop()
  } catch {
    // not started
  }
}

const count = (node) => node.allocations.reduce((n, a) => n + a.count, 0) + node.children.reduce((n, c) => n + count(c), 0)
if (!profile || !Array.isArray(profile.children) || !Array.isArray(profile.allocations)) {
  fail(`heap.v8Profile() returned no allocation tree: ${JSON.stringify(profile)?.slice(0, 200)}`)
}
const objects = count(profile) // V8 scales each sample's count up to the objects it stands for
if (objects === 0) fail('heap.v8Profile() has no samples after ~10 MB of allocations')
let version = ''
try {
  version = ` ${require('@datadog/pprof/package.json').version}`
} catch {
  // exports without package.json
}

// The add-on node-gyp-build picked, as mapped into this process.
let addon = 'unknown'
try {
  const line = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .find((l) => l.includes('dd_pprof'))
  if (line) addon = line.slice(line.indexOf('/')).replace(/.*\/node_modules\//, '')
} catch {
  // not Linux
}
console.log(`check-native: OK @datadog/pprof${version} on ${where}: heap profile read (~${objects} sampled objects); add-on ${addon}`)
