// What the benchmarks share: node children (pinned to a CPU when taskset works), their first JSON
// line, medians and per-round ratios, the rotated order of interleaved rounds, the machine's
// description, and markdown tables. Every comparison here is measured side by side in one run.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The benchmarks directory and the repository root. */
export const here = dirname(fileURLToPath(import.meta.url))
export const root = join(here, '..')

/** True when `taskset` works and there are two CPUs to put the two sides of a load test on. */
export const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2

/** Exits 2 with a hint when dist/ lacks a file the bench imports. */
export function requireDist(file = 'src/index.js') {
  if (!existsSync(join(root, 'dist', file))) {
    console.error(`missing dist/${file}: run \`npm run build\` first`)
    process.exit(2)
  }
}

/**
 * The node binary for `--node`: a major (20, 22, 24) finds `.cache/node/<major>/bin/node`
 * (`bash scripts/install-node.sh 22 24`), or this process's when it is that major; anything else
 * is a path. Without one, this process's node.
 */
export function nodeBinary(spec) {
  if (spec === undefined || spec === '') return process.execPath
  if (/^\d+$/.test(spec)) {
    if (process.versions.node.split('.')[0] === spec) return process.execPath
    const cached = join(root, '.cache', 'node', spec, 'bin', 'node')
    if (existsSync(cached)) return cached
    throw new Error(`no Node ${spec} in .cache/node: run \`bash scripts/install-node.sh ${spec}\``)
  }
  return resolve(spec)
}

/** The version a node binary reports (`v22.23.5`). */
export function nodeVersion(binary) {
  if (binary === process.execPath) return process.version
  return spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim()
}

/**
 * Spawns `node argv` (or `options.node`), on CPU `cpu` when taskset works. stdio defaults to
 * stdin and stdout piped, stderr inherited: children answer on stdout and end when stdin does.
 */
export function nodeChild(cpu, argv, { stdio = ['pipe', 'pipe', 'inherit'], node = process.execPath, env } = {}) {
  const options = { stdio, ...(env === undefined ? {} : { env: { ...process.env, ...env } }) }
  return pinned && cpu !== null ? spawn('taskset', ['-c', String(cpu), node, ...argv], options) : spawn(node, argv, options)
}

/**
 * The first line of a child's stdout that parses as JSON and passes `accept` (default: any), or
 * a rejection when the child exits before printing one. Later lines are drained, not kept.
 */
export function firstLine(child, what, accept = () => true) {
  return new Promise((resolvePromise, reject) => {
    let done = false
    const onExit = (code, signal) => {
      if (!done) reject(new Error(`${what} exited with ${code ?? signal} before answering`))
    }
    child.once('exit', onExit)
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      if (done) return
      let value
      try {
        value = JSON.parse(line)
      } catch {
        return
      }
      if (!accept(value)) return
      done = true
      child.off('exit', onExit)
      resolvePromise(value)
    })
  })
}

/** A child that answers one JSON line per request line: `ask(obj)` resolves with its answer. */
export function conversation(child, what) {
  const waiting = []
  let exited = null
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift()
    if (next === undefined) return
    try {
      next.resolve(JSON.parse(line))
    } catch (err) {
      next.reject(err)
    }
  })
  child.once('exit', (code, signal) => {
    exited = code ?? signal
    for (const w of waiting.splice(0)) w.reject(new Error(`${what} exited with ${exited}`))
  })
  return {
    ask(message) {
      if (exited !== null) return Promise.reject(new Error(`${what} exited with ${exited}`))
      return new Promise((resolvePromise, reject) => {
        waiting.push({ resolve: resolvePromise, reject })
        child.stdin.write(`${JSON.stringify(message)}\n`)
      })
    },
    end() {
      child.stdin.end()
      return exited !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r))
    },
  }
}

/** Ends a child (stdin first, then SIGTERM after `graceMs`, SIGKILL after twice that) and resolves once it exited. */
export function endChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolvePromise) => {
    const term = setTimeout(() => child.kill('SIGTERM'), graceMs)
    const kill = setTimeout(() => child.kill('SIGKILL'), 2 * graceMs)
    child.once('exit', () => {
      clearTimeout(term)
      clearTimeout(kill)
      resolvePromise()
    })
    child.stdin?.end()
  })
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(xs) {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The q-quantile (0..1) of a sorted typed or plain array, nearest rank. */
export function quantileSorted(sorted, q) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** `+1.2%` / `-0.8%` for a ratio. */
export const pct = (ratio) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`
/** `-3.1% .. +2.0%` over the ratios. */
export const range = (xs) => `${pct(Math.min(...xs))} .. ${pct(Math.max(...xs))}`
/** `0.987×` for a ratio. */
export const times = (ratio, digits = 3) => (Number.isFinite(ratio) ? `${ratio.toFixed(digits)}×` : 'n/a')
/** `0.981× (0.952–1.004)`: the median ratio and its min–max over the rounds. */
export const ratioCell = (xs, digits = 3) => `${times(median(xs), digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

/** The order of round `r`: `names` rotated by r, so every side takes every slot in turn. */
export function rotated(names, r) {
  return names.map((_n, i) => names[(i + r) % names.length])
}

/**
 * Runs `rounds` interleaved rounds: each runs every side once, in the rotated order, through
 * `run(side, round)`; returns one row per round, `{ [side]: result }`. `onRound(row, r)` reports.
 */
export async function interleave(names, rounds, run, onRound = () => {}) {
  const rows = []
  for (let r = 0; r < rounds; r++) {
    const row = {}
    for (const name of rotated(names, r)) row[name] = await run(name, r)
    rows.push(row)
    onRound(row, r)
  }
  return rows
}

/** Per-round ratios of `side` against `base` on `value(result)`: the figure a noisy machine keeps. */
export function ratios(rows, side, base, value) {
  return rows.map((row) => value(row[side]) / value(row[base]))
}

/** What the numbers were measured on: node, CPU model (from /proc/cpuinfo), cores, date, load. */
export function machine(node = process.version) {
  let model = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'))
    if (line !== undefined) model = line.slice(line.indexOf(':') + 1).trim()
  } catch {
    // Not Linux: os.cpus() said it.
  }
  return { node, cpu: model, cores: cpus().length, date: new Date().toISOString().slice(0, 10), loadAverage: Number(loadavg()[0].toFixed(2)) }
}

/** One line describing the machine, for the top of a bench's output. */
export const describeMachine = (m = machine()) => `node ${m.node}, ${m.cores} × ${m.cpu}, ${m.date}, 1-minute load average ${m.loadAverage}`

/** A markdown table from a header row and rows of cells. */
export function markdownTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

/** The process's CPU time in ms (user + system) since `since` (a `process.cpuUsage()`), or in all. */
export function cpuMs(since) {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1000
}

/** Sleeps. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
