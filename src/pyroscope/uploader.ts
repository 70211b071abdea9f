import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { Profile } from 'pprof-format'
import { messageOf } from '../errors.js'
import type { OomkitLogger } from '../logging/logger.js'
import type { ResolvedPyroscopeOptions } from './options.js'
import { type ProfileKind, type ProfileWindow, PROFILE_KINDS, ingestHeaders, ingestUrl } from './protocol.js'
import { RateLimitedWarnings } from './warnings.js'

const gzipAsync = promisify(gzip)

/** What became of one profile: sent (`ok`), refused by the server, failed, timed out, or dropped unsent. */
export const UPLOAD_OUTCOMES = Object.freeze(['ok', 'rejected', 'error', 'timeout', 'dropped'] as const)

/** One of {@link UPLOAD_OUTCOMES}. */
export type UploadOutcome = (typeof UPLOAD_OUTCOMES)[number]

/** Upload counts of one profile kind, by outcome. */
export type OutcomeCounts = Record<UploadOutcome, number>

/** The newest upload of one kind. */
export interface LastUpload {
  readonly at: string
  readonly outcome: UploadOutcome
  /** HTTP status, or null when none came. */
  readonly status: number | null
  /** Gzipped profile bytes sent (0 when dropped). */
  readonly bytes: number
}

/** Most of a refusal's body kept for the warning: enough for Pyroscope's error message. */
const MAX_REASON = 300

class UploadTimeout extends Error {}

interface Answer {
  readonly status: number
  readonly reason: string
}

/** One POST on its own connection (no agent: nothing lingers after it), abandoned at `timeoutMs`. */
function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, { method: 'POST', headers, agent: false }, function onResponse(res) {
      let reason = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (reason.length < MAX_REASON) reason += chunk.slice(0, MAX_REASON - reason.length)
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, reason: reason.trim() })
      })
      res.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    const timer = setTimeout(() => req.destroy(new UploadTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs)
    timer.unref()
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.end(body)
  })
}

/** Options of {@link IngestUploader}. */
export interface UploaderOptions {
  readonly options: Pick<ResolvedPyroscopeOptions, 'serverAddress' | 'uploadTimeoutMs' | 'authToken' | 'basicAuthUser' | 'basicAuthPassword' | 'tenantID'>
  /** The `name` of `/ingest`: `app{tags}`. */
  readonly name: string
  readonly logger: OomkitLogger
  /** Pyroscope's own profile processing (frame names as `@pyroscope/nodejs` writes them), applied before encoding. */
  readonly process?: (profile: Profile) => Profile
  /** Clock for the rate-limited warnings. @default Date.now */
  readonly now?: () => number
}

/**
 * Uploads profiles to Pyroscope's `/ingest`, bounded: at most one upload in flight per profile
 * kind (a profile that finds its kind busy is dropped, not queued), each abandoned after
 * `uploadTimeoutMs`, every outcome counted and every failure warned about at most once a minute
 * per kind and outcome. A server that is down, refuses or hangs costs the app one connection per
 * kind and one profile's bytes, never a growing queue and never the event loop.
 */
export class IngestUploader {
  readonly #counts: Record<ProfileKind, OutcomeCounts>
  readonly #last: Record<ProfileKind, LastUpload | null> = { heap: null, wall: null }
  readonly #inflight = new Set<ProfileKind>()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #warnings: RateLimitedWarnings

  constructor(private readonly deps: UploaderOptions) {
    this.#counts = Object.fromEntries(PROFILE_KINDS.map((k) => [k, Object.fromEntries(UPLOAD_OUTCOMES.map((o) => [o, 0]))])) as Record<
      ProfileKind,
      OutcomeCounts
    >
    this.#warnings = new RateLimitedWarnings(deps.logger, deps.now ?? Date.now)
  }

  /** Counts by kind and outcome (live objects: read, don't keep). */
  get counts(): Readonly<Record<ProfileKind, Readonly<OutcomeCounts>>> {
    return this.#counts
  }

  /** The newest upload of a kind, or null. */
  last(kind: ProfileKind): LastUpload | null {
    return this.#last[kind]
  }

  /** Whether an upload of this kind is in flight. */
  busy(kind: ProfileKind): boolean {
    return this.#inflight.has(kind)
  }

  /** Counts a profile that was not sent because the previous one of its kind is still in flight. */
  drop(kind: ProfileKind): void {
    this.#record(kind, 'dropped', null, 0)
    this.#warn(kind, 'dropped', {}, `a ${kind} profile was dropped: the previous upload to Pyroscope is still in flight`)
  }

  /** Counts a profile that could not even be read or encoded. */
  fail(kind: ProfileKind, err: unknown): void {
    this.#record(kind, 'error', null, 0)
    this.#warn(kind, 'error', { error: messageOf(err) }, `a ${kind} profile for Pyroscope could not be read: ${messageOf(err)}`)
  }

  /**
   * Encodes and uploads one profile. A busy kind drops it, unless `final` (the last profile at
   * stop, which may run beside one still in flight). Never rejects.
   */
  send(kind: ProfileKind, profile: Profile, window: ProfileWindow, final = false): Promise<UploadOutcome> {
    if (!final && this.#inflight.has(kind)) {
      this.drop(kind)
      return Promise.resolve('dropped')
    }
    this.#inflight.add(kind)
    const task = this.#upload(kind, profile, window).finally(() => {
      this.#inflight.delete(kind)
      this.#pending.delete(task)
    })
    this.#pending.add(task)
    return task
  }

  /** Resolves once every upload started so far has settled (each is bounded by its timeout). */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
  }

  /** At stop: logs the failures that were counted but never logged. */
  flushWarnings(): void {
    this.#warnings.flush('Pyroscope upload failures since the last warning (oomkit_profile_uploads_total has them all)')
  }

  async #upload(kind: ProfileKind, profile: Profile, window: ProfileWindow): Promise<UploadOutcome> {
    const { options, name } = this.deps
    let body: Buffer
    try {
      body = await gzipAsync((this.deps.process?.(profile) ?? profile).encode())
    } catch (err) {
      this.fail(kind, err)
      return 'error'
    }
    const url = ingestUrl(options.serverAddress, name, window)
    try {
      const answer = await post(url, ingestHeaders(options, body.length), body, options.uploadTimeoutMs)
      if (answer.status >= 200 && answer.status < 300) {
        this.#record(kind, 'ok', answer.status, body.length)
        return 'ok'
      }
      this.#record(kind, 'rejected', answer.status, body.length)
      this.#warn(
        kind,
        'rejected',
        { status: answer.status, reason: answer.reason },
        `Pyroscope refused a ${kind} profile: HTTP ${answer.status}${answer.reason === '' ? '' : ` (${answer.reason})`}`,
      )
      return 'rejected'
    } catch (err) {
      const outcome: UploadOutcome = err instanceof UploadTimeout ? 'timeout' : 'error'
      this.#record(kind, outcome, null, body.length)
      const code = (err as NodeJS.ErrnoException).code
      this.#warn(
        kind,
        outcome,
        { error: messageOf(err), ...(code === undefined ? {} : { code }) },
        outcome === 'timeout'
          ? `Pyroscope did not answer a ${kind} profile upload within ${options.uploadTimeoutMs} ms; it was abandoned`
          : `a ${kind} profile upload to Pyroscope failed: ${messageOf(err)}`,
      )
      return outcome
    }
  }

  #record(kind: ProfileKind, outcome: UploadOutcome, status: number | null, bytes: number): void {
    this.#counts[kind][outcome]++
    this.#last[kind] = { at: new Date().toISOString(), outcome, status, bytes }
  }

  #warn(kind: ProfileKind, outcome: UploadOutcome, fields: Record<string, unknown>, msg: string): void {
    this.#warnings.warn(
      `${kind}:${outcome}`,
      { profile: kind, outcome, serverAddress: this.deps.options.serverAddress, ...fields },
      `${msg}; oomkit_profile_uploads_total counts every outcome, and the app runs on`,
    )
  }
}
