import { runInThisContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { captureStack, formatStack, packageOf } from '../../src/leaks/index.js'

// Acquisition stacks: captured cheaply, formatted only when read, user frames first, library and
// node frames folded.

/** A function that lives in a package (its file is under node_modules) and calls back. */
function libraryFunction(file: string): (cb: () => unknown) => unknown {
  return runInThisContext('(function libCall(cb) { return [1].map(function libInner() { return cb() })[0] })', { filename: file }) as (
    cb: () => unknown,
  ) => unknown
}

const APP = '/srv/app/server.js'
const appFunction = runInThisContext('(function appHandler(lib, take) { return lib(take) })', { filename: APP }) as (
  lib: (cb: () => unknown) => unknown,
  take: () => unknown,
) => unknown

describe('acquisition stacks', () => {
  it('puts the user frame first, sends the library frames in between to via, folds later runs', () => {
    const pool = libraryFunction('/srv/app/node_modules/pg-pool/index.js')
    const router = libraryFunction('/srv/app/node_modules/@koa/router/lib/layer.js')
    function take(): unknown {
      return captureStack(take)
    }
    // The app's handler is called by the router and takes a connection through the pool library.
    const holder = router(() => appFunction(pool, take)) as ReturnType<typeof captureStack>
    const f = formatStack(holder)
    expect(f.site).toEqual({ function: 'appHandler', file: APP, line: 1, column: expect.any(Number) })
    expect(f.via).toEqual(['pg-pool'])
    expect(f.stack[0]).toMatch(/^appHandler \(\/srv\/app\/server\.js:1:\d+\)$/)
    // Then the test's own arrow (a user frame), then the router's frames folded into one line.
    expect(f.stack[1]).toMatch(/^\(anonymous\) \(.*stack\.test\.ts:\d+:\d+\)$/)
    expect(f.stack[2]).toMatch(/^… \d+ frames? in (node internals, )?@koa\/router(, node internals)?$/)
  })

  it('formats once: the same holder gives the same frames when read again', () => {
    function take(): ReturnType<typeof captureStack> {
      return captureStack(take)
    }
    const holder = take()
    expect(formatStack(holder)).toEqual(formatStack(holder))
    expect(formatStack(null)).toEqual({ site: null, stack: [], via: [] })
  })

  it('takes its own depth whatever Error.stackTraceLimit the app set, and restores it', () => {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      function take(): ReturnType<typeof captureStack> {
        return captureStack(take)
      }
      expect(formatStack(take()).stack.length).toBeGreaterThan(0)
      expect(Error.stackTraceLimit).toBe(0)
    } finally {
      Error.stackTraceLimit = limit
    }
  })

  it('names the package of a node_modules path, scoped or nested', () => {
    expect(packageOf('/a/node_modules/pg-pool/index.js')).toBe('pg-pool')
    expect(packageOf('/a/node_modules/@scope/x/lib/y.js')).toBe('@scope/x')
    expect(packageOf('/a/node_modules/pg/node_modules/pg-pool/index.js')).toBe('pg-pool')
    expect(packageOf('C:\\a\\node_modules\\mysql2\\lib\\pool.js')).toBe('mysql2')
    expect(packageOf('/srv/app/server.js')).toBeNull()
  })
})
