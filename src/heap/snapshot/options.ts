import { RANGES } from '../../options/ranges.js'
import { boolOption, checkKeys, intOption } from '../../options/validate.js'

/** Options of the heap snapshot guard (`snapshot`). */
export interface SnapshotOptions {
  /** Least time between two snapshots, in ms (0 to 86,400,000). @default 60000 */
  cooldownMs?: number
  /** Allow the temp file on tmpfs, whose pages count against the container's memory limit. @default false */
  allowTmpfs?: boolean
}

/** `snapshot` after defaults. */
export type ResolvedSnapshotOptions = Readonly<Required<SnapshotOptions>>

/** The guard's defaults. */
export const SNAPSHOT_DEFAULTS: ResolvedSnapshotOptions = Object.freeze({ cooldownMs: 60_000, allowTmpfs: false })

const KEYS = new Set(Object.keys(SNAPSHOT_DEFAULTS))

/** Validates `snapshot`: an options object, or `false` to turn `/debug/heap` off. */
export function resolveSnapshot(value: unknown): ResolvedSnapshotOptions | false {
  if (value === undefined) return SNAPSHOT_DEFAULTS
  if (value === false) return false
  const o = checkKeys('snapshot', value, KEYS)
  return Object.freeze({
    cooldownMs: intOption('snapshot.cooldownMs', o.cooldownMs, SNAPSHOT_DEFAULTS.cooldownMs, RANGES['snapshot.cooldownMs']),
    allowTmpfs: boolOption('snapshot.allowTmpfs', o.allowTmpfs, SNAPSHOT_DEFAULTS.allowTmpfs),
  })
}
