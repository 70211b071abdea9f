import type { ServerResponse } from 'node:http'
import { ERROR_CODES, type OomkitErrorCode } from '../errors.js'

/** Headers every debug response carries: never cached, never sniffed. */
export function setDebugHeaders(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Content-Type-Options', 'nosniff')
}

/** Sends a JSON body (no body for HEAD). */
export function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = `${JSON.stringify(body)}\n`
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(head ? undefined : text)
}

/** Sends `{ error: code, message, ...extra }` with the code's HTTP status. */
export function sendError(res: ServerResponse, code: OomkitErrorCode, message: string, extra: Record<string, unknown> = {}, head = false): void {
  const status = ERROR_CODES[code].status ?? 500
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, status, { error: code, message, ...extra }, head)
}
