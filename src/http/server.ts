import { type Server, ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OomkitLogger } from '../logging/logger.js'
import { OomkitError } from '../errors.js'
import { type OomkitHandler, clientErrorStatus, recordServerAnswer } from './handler.js'

const STATUS_LINES: Record<number, string> = {
  400: '400 Bad Request',
  408: '408 Request Timeout',
  413: '413 Payload Too Large',
  431: '431 Request Header Fields Too Large',
}

/** A running debug server. */
export interface DebugServer {
  readonly server: Server
  /** The bound address (the real port when 0 was asked for). */
  readonly address: AddressInfo
  /** Base URL, e.g. `http://127.0.0.1:9469`. */
  readonly url: string
  close(): Promise<void>
}

/**
 * Starts oomkit's own server. A failure to listen rejects with `OOMKIT_LISTEN_FAILED`; errors after
 * that are logged, never thrown: the debug server must not take the service down. The server is
 * unref'd so it never keeps a finished process alive.
 */
export function startServer(handler: OomkitHandler, port: number, host: string, logger: OomkitLogger): Promise<DebugServer> {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 32 * 1024 }, handler)
  server.maxHeadersCount = 100
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // As node's own handler: the status that says what was wrong (431 for oversized headers, 408
    // for a timeout), nothing written into a response that has already started, and the socket
    // destroyed once the answer is out (http sockets are half-open: end() alone would let the
    // client hold it open, with no timeout left to close it). A request whose body failed to parse
    // had reached the handler: its audit line says what this wrote in its place.
    const inFlight = (socket as { _httpMessage?: unknown })._httpMessage
    if (socket.writable && !(inFlight instanceof ServerResponse && inFlight.headersSent)) {
      const status = clientErrorStatus(err.code) ?? 400
      if (inFlight instanceof ServerResponse) recordServerAnswer(inFlight, status)
      socket.end(`HTTP/1.1 ${STATUS_LINES[status] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`, () => socket.destroy())
    } else socket.destroy()
  })
  return new Promise<DebugServer>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.close()
      reject(new OomkitError('OOMKIT_LISTEN_FAILED', `oomkit debug server could not listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      server.on('error', (err) => logger.error({ err }, 'oomkit debug server error'))
      server.unref()
      const address = server.address() as AddressInfo
      const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve({
        server,
        address,
        url: `http://${urlHost}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
