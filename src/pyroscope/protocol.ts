import type { ResolvedPyroscopeOptions } from './options.js'
import { hasControlCharacter, isValidLabelValue } from './options.js'

/** Which profile an upload carries. */
export type ProfileKind = 'heap' | 'wall'

/** The profile kinds, in the order metrics and the report list them. */
export const PROFILE_KINDS: readonly ProfileKind[] = Object.freeze(['heap', 'wall'])

/** The pod's variables behind the default tags, and the tag each one becomes. */
export const POD_TAG_SOURCES = Object.freeze({ hostname: 'HOSTNAME', namespace: 'POD_NAMESPACE', pod: 'POD_NAME' } as const)

/** A pod variable made into a tag value: what Pyroscope's name syntax reserves becomes `_`. */
function tagValue(raw: string): string | null {
  const v = raw
    .trim()
    .replace(/[{},=]/g, '_')
    .slice(0, 1024)
  return !hasControlCharacter(v) && isValidLabelValue(v) ? v : null
}

/**
 * The tags every profile carries: `hostname`, `namespace` and `pod` from the pod's environment
 * (`HOSTNAME`, `POD_NAMESPACE`, `POD_NAME`, set through the downward API) and `service_name`,
 * so that replicas can be told apart; then the configured `tags`, which win.
 *
 * @example
 * // env: HOSTNAME=checkout-7d9f-x2, POD_NAMESPACE=shop
 * effectiveTags(options, process.env) // { hostname: 'checkout-7d9f-x2', namespace: 'shop', service_name: 'checkout', region: 'eu' }
 */
export function effectiveTags(
  options: Pick<ResolvedPyroscopeOptions, 'appName' | 'tags' | 'defaultTags'>,
  env: NodeJS.ProcessEnv,
): Readonly<Record<string, string>> {
  const out: Record<string, string> = {}
  if (options.defaultTags) {
    for (const [tag, variable] of Object.entries(POD_TAG_SOURCES)) {
      const raw = env[variable]
      const v = raw === undefined ? null : tagValue(raw)
      if (v !== null) out[tag] = v
    }
    out.service_name = options.appName
  }
  return Object.freeze({ ...out, ...options.tags })
}

/** Pyroscope's application name with its tags: `app{k=v,k=v}` (the `name` of `/ingest`). */
export function applicationName(appName: string, tags: Readonly<Record<string, string>>): string {
  return `${appName}{${Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`
}

/** The time span a profile covers, and the wall profile's sample rate. */
export interface ProfileWindow {
  readonly from: Date
  readonly until: Date
  readonly sampleRate?: number | undefined
}

/**
 * `POST <serverAddress>/ingest?format=pprof&from&name&spyName=nodespy&until[&sampleRate]`: the
 * URL `@pyroscope/nodejs` 0.6 uploads to (Pyroscope's ingest API; `from`/`until` in Unix seconds).
 */
export function ingestUrl(serverAddress: string, name: string, window: ProfileWindow): URL {
  const url = new URL(`${serverAddress}/ingest`)
  url.searchParams.append('format', 'pprof')
  url.searchParams.append('from', String(Math.floor(window.from.getTime() / 1000)))
  url.searchParams.append('name', name)
  url.searchParams.append('spyName', 'nodespy')
  url.searchParams.append('until', String(Math.floor(window.until.getTime() / 1000)))
  if (window.sampleRate !== undefined) url.searchParams.append('sampleRate', String(window.sampleRate))
  return url
}

/**
 * The upload's headers: the body is a gzipped pprof profile sent raw; a bearer token, else basic
 * auth, and the tenant as `X-Scope-OrgID` (as `@pyroscope/nodejs` sends them).
 */
export function ingestHeaders(
  options: Pick<ResolvedPyroscopeOptions, 'authToken' | 'basicAuthUser' | 'basicAuthPassword' | 'tenantID'>,
  bodyBytes: number,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(bodyBytes), 'user-agent': 'oomkit' }
  if (options.authToken !== null) headers.authorization = `Bearer ${options.authToken}`
  else if (options.basicAuthUser !== null && options.basicAuthPassword !== null) {
    headers.authorization = `Basic ${Buffer.from(`${options.basicAuthUser}:${options.basicAuthPassword}`).toString('base64')}`
  }
  if (options.tenantID !== null) headers['x-scope-orgid'] = options.tenantID
  return headers
}
