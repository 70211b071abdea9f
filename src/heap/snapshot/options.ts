import { RANGES } from '../../options/ranges.js'
import { boolOption, checkKeys, intOption } from '../../options/validate.js'

/** Options of the heap snapshot guard (`snapshot`). */
export interface SnapshotOptions {
  /** Least time between two snapshots, in ms (0 to 86,400,000). @default 60000 */
  cooldownMs?: number
  /** Allow the temp file on tmpfs, whose pages count against the container's memory limit. @default false */
  allowTmpfs?: boolean
  /**
   * How long a download may go without the client accepting any bytes, in ms (1000 to 600,000),
   * before it is cut off: a stalled client would otherwise hold the one-at-a-time slot and the
   * deleted temp file's disk space for as long as it likes. Only a lack of progress counts; a slow
   * client that keeps reading is never cut off. Not under a second: one TCP retransmission can
   * pause a healthy client that long. @default 30000
   */
  idleTimeoutMs?: number
}

/** `snapshot` after defaults. */
export type ResolvedSnapshotOptions = Readonly<Required<SnapshotOptions>>

/** The guard's defaults. */
export const SNAPSHOT_DEFAULTS: ResolvedSnapshotOptions = Object.freeze({ cooldownMs: 60_000, allowTmpfs: false, idleTimeoutMs: 30_000 })

const KEYS = new Set(Object.keys(SNAPSHOT_DEFAULTS))

/** Validates `snapshot`: an options object, or `false` to turn `/debug/heap` off. */
export function resolveSnapshot(value: unknown): ResolvedSnapshotOptions | false {
  if (value === undefined) return SNAPSHOT_DEFAULTS
  if (value === false) return false
  const o = checkKeys('snapshot', value, KEYS)
  return Object.freeze({
    cooldownMs: intOption('snapshot.cooldownMs', o.cooldownMs, SNAPSHOT_DEFAULTS.cooldownMs, RANGES['snapshot.cooldownMs']),
    allowTmpfs: boolOption('snapshot.allowTmpfs', o.allowTmpfs, SNAPSHOT_DEFAULTS.allowTmpfs),
    idleTimeoutMs: intOption('snapshot.idleTimeoutMs', o.idleTimeoutMs, SNAPSHOT_DEFAULTS.idleTimeoutMs, RANGES['snapshot.idleTimeoutMs']),
  })
}
