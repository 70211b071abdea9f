import { fileURLToPath } from 'node:url'
import { isInternalFrame } from '../heap/profile/top-sites.js'

/** An acquisition stack as captured: V8's structured frames, not formatted until someone reads it. */
export type StackHolder = { stack?: unknown }

/** One frame of the user's code. */
export interface StackFrame {
  readonly function: string
  /** Absolute path (or URL for code not on disk). */
  readonly file: string
  readonly line: number
  readonly column: number
}

/** An acquisition stack as reported. */
export interface FormattedStack {
  /** The innermost frame of the user's code: where the resource was taken. Null when no frame is the user's. */
  readonly site: StackFrame | null
  /** Frames innermost first, user frames as `fn (file:line:col)`; runs of `node_modules` and node internals folded into one line. */
  readonly stack: readonly string[]
  /** Packages between the user's frame and the acquire (e.g. `pg-pool`), innermost first. */
  readonly via: readonly string[]
}

/**
 * Frames captured per acquisition stack: enough to reach the caller through a pool library and a
 * framework, and V8's default `Error.stackTraceLimit`, so that in most apps no limit is changed.
 */
export const STACK_DEPTH = 10

/**
 * Captures the current stack into a fresh holder, omitting `above` and every frame above it (the
 * tracker's own). The cost follows the frames captured (~2 µs for 10): `depth` frames are taken
 * whatever `Error.stackTraceLimit` the app set (fetch's are deep inside undici, so it asks for
 * more). The frames are formatted only by {@link formatStack}.
 */
export function captureStack(above: (...args: never[]) => unknown, depth = STACK_DEPTH): StackHolder {
  const holder: StackHolder = {}
  const limit = Error.stackTraceLimit
  if (limit === depth) {
    Error.captureStackTrace(holder, above)
    return holder
  }
  Error.stackTraceLimit = depth
  try {
    Error.captureStackTrace(holder, above)
  } finally {
    Error.stackTraceLimit = limit
  }
  return holder
}

/** The holder's frames as V8 CallSites: reading `.stack` once with a prepareStackTrace that keeps them. */
function callSites(holder: StackHolder): NodeJS.CallSite[] {
  const prepare = Error.prepareStackTrace
  Error.prepareStackTrace = (_err, sites) => sites
  try {
    const sites = holder.stack
    return Array.isArray(sites) ? (sites as NodeJS.CallSite[]) : []
  } catch {
    return []
  } finally {
    Error.prepareStackTrace = prepare
  }
}

function pathOf(file: string): string {
  if (!file.startsWith('file://')) return file
  try {
    return fileURLToPath(file)
  } catch {
    return file
  }
}

const NODE_MODULES = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/g

/** The package a frame's file belongs to (the innermost `node_modules/<pkg>`), or null for the app's own files. */
export function packageOf(file: string): string | null {
  let last: string | null = null
  for (const m of file.matchAll(NODE_MODULES)) last = (m[1] as string).replace(/\\/g, '/')
  return last
}

/** What folds a frame: `node` (internals), `oomkit`, a package name, or null for the user's own frame. */
function foldOf(fn: string, file: string): string | null {
  if (file === '' || file.startsWith('node:') || file.startsWith('internal/')) return 'node'
  const pkg = packageOf(file)
  if (pkg !== null) return pkg
  return isInternalFrame(fn, file) ? 'oomkit' : null
}

function folded(n: number, groups: readonly string[]): string {
  const names = groups.map((g) => (g === 'node' ? 'node internals' : g)).join(', ')
  return `… ${n} frame${n === 1 ? '' : 's'} in ${names}`
}

/**
 * Formats an acquisition stack: user frames first (the library frames between the acquire and
 * the user's code go to `via`), each later run of `node_modules` or node-internal frames folded
 * into one line naming the packages.
 *
 * @example
 * formatStack(holder).site   // { function: 'leakyRoute', file: '/app/routes.js', line: 12, column: 30 }
 */
export function formatStack(holder: StackHolder | null): FormattedStack {
  if (holder === null) return { site: null, stack: [], via: [] }
  const stack: string[] = []
  const via: string[] = []
  let site: StackFrame | null = null
  let run = 0
  let groups: string[] = []
  for (const cs of callSites(holder)) {
    const file = pathOf(cs.getFileName() ?? cs.getScriptNameOrSourceURL() ?? '')
    const fn = cs.getFunctionName() ?? (cs.isAsync() ? 'async (anonymous)' : '(anonymous)')
    const fold = foldOf(fn, file)
    if (fold !== null) {
      if (site === null) {
        if (fold !== 'oomkit' && fold !== 'node' && !via.includes(fold)) via.push(fold)
        continue
      }
      run++
      if (!groups.includes(fold)) groups.push(fold)
      continue
    }
    if (run > 0) stack.push(folded(run, groups))
    run = 0
    groups = []
    const method = cs.getMethodName()
    const type = cs.getTypeName()
    const name = method !== null && type !== null && !fn.includes('.') && type !== 'Object' && !cs.isToplevel() ? `${type}.${fn}` : fn
    const frame: StackFrame = { function: fn, file, line: cs.getLineNumber() ?? 0, column: cs.getColumnNumber() ?? 0 }
    site ??= frame
    stack.push(`${cs.isAsync() ? 'async ' : ''}${name} (${file}:${frame.line}:${frame.column})`)
  }
  if (run > 0) stack.push(folded(run, groups))
  return { site, stack, via }
}
