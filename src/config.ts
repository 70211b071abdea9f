import { CAPABILITIES } from './capabilities.js'
import type { CapabilityOptions, ResolvedCapabilityOptions } from './capability.js'
import { CORE_DEFAULTS, CORE_KEYS, type CoreOptions, type ResolvedCoreOptions, resolveCore } from './options/core.js'
import { checkKeys } from './options/validate.js'

export type { OomkitLogger } from './logging/logger.js'
export type { CoreOptions, ResolvedCoreOptions } from './options/core.js'

/**
 * Options of {@link createOomkit}: the core's and each capability's. Every one has a default; a
 * bad value throws `OomkitError` with code `OOMKIT_INVALID_OPTION` naming it.
 */
export interface OomkitOptions extends CoreOptions, CapabilityOptions {}

/** Options after defaults are applied; frozen. */
export interface ResolvedOptions extends ResolvedCoreOptions, ResolvedCapabilityOptions {}

/** Defaults of every option: the core's, then each capability's. */
export type Defaults = typeof CORE_DEFAULTS & { readonly [K in keyof ResolvedCapabilityOptions]: ResolvedCapabilityOptions[K] }

/** Defaults of every option, frozen. */
export const DEFAULTS: Defaults = Object.freeze({
  ...CORE_DEFAULTS,
  ...Object.fromEntries(CAPABILITIES.map((c) => [c.option, c.defaults])),
}) as Defaults

const KNOWN = new Set<string>([...CORE_KEYS, ...CAPABILITIES.map((c) => c.option as string)])

/** Validates options and applies defaults. Throws `OomkitError` (`OOMKIT_INVALID_OPTION`) on the first bad one. */
export function resolveOptions(input: OomkitOptions | undefined = {}): ResolvedOptions {
  const o = checkKeys('options', input, KNOWN)
  const core = resolveCore(o)
  const capabilities = Object.fromEntries(CAPABILITIES.map((c) => [c.option, c.resolve(o[c.option])]))
  return Object.freeze({ ...core, ...capabilities }) as ResolvedOptions
}
