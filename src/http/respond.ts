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

/**
 * Answers a HEAD request with the headers a GET would get (status 200 and `contentType`) and no
 * body, and returns true; returns false for any other method, so a route reads
 * `if (answerHead(res, method, type)) return` before doing the work a GET needs.
 */
export function answerHead(res: ServerResponse, method: string, contentType: string): boolean {
  if (method !== 'HEAD') return false
  res.statusCode = 200
  res.setHeader('Content-Type', contentType)
  res.end()
  return true
}
