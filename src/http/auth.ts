import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** A token prepared for constant-time comparison: only its hash is kept. */
export class TokenCheck {
  readonly #digest: Buffer

  constructor(token: string) {
    this.#digest = digest(token)
  }

  /**
   * Compares in constant time. Both sides are hashed first: `timingSafeEqual` needs equal lengths
   * and would otherwise throw, or leak the token's length.
   */
  matches(candidate: string): boolean {
    return timingSafeEqual(this.#digest, digest(candidate))
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** What the Authorization header carried. */
export type BearerResult = { kind: 'none' } | { kind: 'malformed'; reason: string } | { kind: 'bearer'; token: string }

/** Reads `Authorization: Bearer <token>`; more than one Authorization header is malformed. */
export function readBearer(req: IncomingMessage): BearerResult {
  const all = req.headersDistinct.authorization
  if (all === undefined || all.length === 0) return { kind: 'none' }
  if (all.length > 1) return { kind: 'malformed', reason: 'more than one Authorization header' }
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(all[0] as string)
  if (m === null) return { kind: 'malformed', reason: 'expected "Authorization: Bearer <token>"' }
  return { kind: 'bearer', token: m[1] as string }
}

/** Whether an IP address is loopback (127.0.0.0/8, ::1, or their IPv4-mapped forms). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  const a = address.toLowerCase()
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a
  return isIP(v4) === 4 && v4.startsWith('127.')
}

/** Whether a host name given to listen() is loopback. */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackAddress(host)
}

/**
 * Whether the Host header names a loopback host (`localhost`, `127.x.x.x`, `[::1]`, any port).
 * A DNS-rebinding page reaches a loopback listener under its own name; this tells them apart.
 * Requests without a Host header (HTTP/1.0 tools) come from no browser and pass.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return true
  const h = host.trim().toLowerCase()
  let name: string
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    if (end < 0) return false
    name = h.slice(1, end)
    const rest = h.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return false
  } else {
    const parts = h.split(':')
    if (parts.length > 2) return false
    name = parts[0] as string
    if (parts.length === 2 && !/^\d{1,5}$/.test(parts[1] as string)) return false
  }
  return name === 'localhost' || name === 'localhost.' || isLoopbackAddress(name)
}
