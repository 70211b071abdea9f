import { OomkitError } from '../errors.js'
import type { OomkitLogger } from '../logging/logger.js'
import { isLoopbackHost } from './auth.js'
import { type HandlerDeps, createHandler } from './handler.js'
import { type HandlerMountOptions, type ListenOptions, resolveListen, resolveMount } from './mount-options.js'
import type { OomkitHandler } from './handler.js'
import { type DebugServer, startServer } from './server.js'

/**
 * The HTTP side of one instance: its standalone debug server (one at a time) and the handlers it
 * mounts on the app's port, over the instance's route table.
 */
export class HttpSurface {
  #server: DebugServer | null = null
  #listening: Promise<DebugServer> | null = null
  #warnedOpen = false

  constructor(
    private readonly deps: HandlerDeps,
    /** Whether the instance was stopped (a server that comes up after that is closed at once). */
    private readonly stopped: () => boolean,
  ) {}

  /** The debug server, once listening. */
  get server(): DebugServer | null {
    return this.#server
  }

  /** A handler for the app's own port (see `Oomkit.handler`). */
  handler(options: HandlerMountOptions): OomkitHandler {
    const o = resolveMount(options)
    if (o.open && !this.#warnedOpen) {
      this.#warnedOpen = true
      this.deps.logger.warn(
        { code: 'OOMKIT_UNAUTHENTICATED_DEBUG' },
        'oomkit debug routes are served on the app port WITHOUT authentication (allowUnauthenticated: true): ' +
          'anyone who reaches the port can take heap snapshots; set a token instead',
      )
    }
    return createHandler(this.deps, { ...o, loopbackListener: false })
  }

  /** Starts the standalone debug server (see `Oomkit.listen`). */
  async listen(options: ListenOptions): Promise<DebugServer> {
    const { port, host, token, metricsToken } = resolveListen(options)
    if (this.stopped()) throw stoppedError()
    if (this.#listening !== null) {
      throw new OomkitError(
        'OOMKIT_LISTEN_FAILED',
        `oomkit debug server is already listening${this.#server === null ? '' : ` at ${this.#server.url}`}; stop() first`,
      )
    }
    const loopbackListener = isLoopbackHost(host)
    this.#listening = startServer(createHandler(this.deps, { token, metricsToken, loopbackListener }), port, host, this.deps.logger)
    try {
      const server = await this.#listening
      if (this.stopped()) {
        await server.close()
        throw new OomkitError('OOMKIT_STOPPED', 'stop() was called while the debug server was starting')
      }
      this.#server = server
      logListening(this.deps.logger, server, token !== undefined, loopbackListener)
      return server
    } catch (err) {
      this.#listening = null
      throw err
    }
  }

  /** Closes the debug server, if any. */
  async close(): Promise<void> {
    const server = this.#server
    this.#server = null
    this.#listening = null
    await server?.close()
  }
}

/** The error of a call on a stopped instance. */
export function stoppedError(): OomkitError {
  return new OomkitError('OOMKIT_STOPPED', 'This oomkit instance was stopped; create a new one with createOomkit()')
}

function logListening(logger: OomkitLogger, server: DebugServer, hasToken: boolean, loopback: boolean): void {
  if (!hasToken && !loopback) {
    logger.warn(
      { url: server.url, auth: 'none-configured' },
      'oomkit debug server listening on a non-loopback address without a token: /debug/* answers 403 until a token is set (OOMKIT_TOKEN or listen({ token }))',
    )
  } else {
    logger.info({ url: server.url, auth: hasToken ? 'token' : 'loopback-only' }, 'oomkit debug server listening')
  }
}
