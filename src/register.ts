/**
 * Zero-code start: `node --import oomkit/register app.js` (or `node -r oomkit/register app.cjs`)
 * creates, starts and listens from the `OOMKIT_*` variables. A bad variable fails start with a
 * message naming it; a debug server that cannot listen is logged and the app runs on.
 *
 * No top-level await here: CommonJS apps `require()` this module.
 */
import { readEnv } from './env.js'
import { OomkitError, messageOf } from './errors.js'
import { Oomkit } from './kit.js'

/** Fails start, loudly and plainly: the message says what to fix, a preload stack says nothing. */
function failStart(err: unknown): never {
  if (!(err instanceof OomkitError)) throw err
  process.stderr.write(`oomkit/register: ${err.message} [${err.code}]\n`)
  process.exit(1)
}

function readConfig(): ReturnType<typeof readEnv> {
  try {
    return readEnv()
  } catch (err) {
    failStart(err)
  }
}

const config = readConfig()

function createKit(): Oomkit {
  try {
    return new Oomkit(config.options).start()
  } catch (err) {
    failStart(err)
  }
}

/** The instance oomkit/register started. */
export const kit: Oomkit = createKit()

/** Resolves once the debug server listens, or with null when it could not (the log says why). */
export const ready: Promise<import('./http/index.js').DebugServer | null> = kit.listen(config.listen).catch((err: unknown) => {
  kit.logger.error(
    { err, code: err instanceof OomkitError ? err.code : undefined, port: config.listen.port, host: config.listen.host },
    `oomkit debug server is down: ${messageOf(err)}; the app keeps running, /metrics and /debug/* are unavailable. Set OOMKIT_PORT to a free port`,
  )
  return null
})
