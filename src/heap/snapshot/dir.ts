import { join } from 'node:path'
import { type SweepResult, ensurePrivateDir, isOnTmpfs, privateDirReason, sweepPrivateDir } from '../../diagnostics/private-dir.js'

/** Where snapshots go when `diagnosticsDir` is on tmpfs and tmpfs is not allowed. */
export const FALLBACK_SNAPSHOT_ROOT = '/var/tmp/oomkit'

/** Temp file names: `heap-<pid>-<ms>-<random>.heapsnapshot`; the sweep removes only these. */
export const SNAPSHOT_FILE_PATTERN = /^heap-(\d+)-\d+-[0-9a-f]+\.heapsnapshot$/

const SUBDIR = 'snapshots'

/** The directory snapshots are written to, or why there is none. */
export type SnapshotDir =
  | { readonly ok: true; readonly dir: string; readonly onTmpfs: boolean; readonly fallback: boolean }
  | {
      readonly ok: false
      readonly dir: string
      readonly onTmpfs: boolean
      readonly code: 'OOMKIT_SNAPSHOT_DIR_TMPFS' | 'OOMKIT_SNAPSHOT_DIR_UNUSABLE'
      readonly message: string
    }

function prepareOne(root: string): SnapshotDir {
  const planned = join(root, SUBDIR)
  try {
    const dir = ensurePrivateDir(root, SUBDIR)
    return { ok: true, dir, onTmpfs: isOnTmpfs(dir), fallback: false }
  } catch (err) {
    return {
      ok: false,
      dir: planned,
      onTmpfs: isOnTmpfs(planned),
      code: 'OOMKIT_SNAPSHOT_DIR_UNUSABLE',
      message: `The heap snapshot directory ${planned} cannot be used: ${privateDirReason(err)}; set diagnosticsDir to a directory this process owns`,
    }
  }
}

/**
 * Finds (and creates) the directory for snapshot temp files. On tmpfs the file's pages count
 * against the container's memory limit, right when the snapshot itself needs the most memory; so
 * unless `allowTmpfs`, a tmpfs `diagnosticsDir` falls back to `fallbackRoot` (on disk), and when
 * that is tmpfs too the snapshot is refused.
 */
export function prepareSnapshotDir(diagnosticsDir: string, allowTmpfs: boolean, fallbackRoot = FALLBACK_SNAPSHOT_ROOT): SnapshotDir {
  if (allowTmpfs || !isOnTmpfs(diagnosticsDir)) return prepareOne(diagnosticsDir)
  if (isOnTmpfs(fallbackRoot)) {
    return {
      ok: false,
      dir: join(diagnosticsDir, SUBDIR),
      onTmpfs: true,
      code: 'OOMKIT_SNAPSHOT_DIR_TMPFS',
      message:
        `diagnosticsDir (${diagnosticsDir}) and the fallback ${fallbackRoot} are on tmpfs, whose pages count against the memory limit; ` +
        'set diagnosticsDir to a disk-backed volume, or snapshot: { allowTmpfs: true }',
    }
  }
  const out = prepareOne(fallbackRoot)
  return out.ok ? { ...out, fallback: true } : out
}

/** Where snapshots would go, without creating anything (for the report before the first use). */
export function plannedSnapshotDir(diagnosticsDir: string, allowTmpfs: boolean, fallbackRoot = FALLBACK_SNAPSHOT_ROOT): { dir: string; onTmpfs: boolean } {
  const tmpfs = isOnTmpfs(diagnosticsDir)
  if (allowTmpfs || !tmpfs) return { dir: join(diagnosticsDir, SUBDIR), onTmpfs: tmpfs }
  if (isOnTmpfs(fallbackRoot)) return { dir: join(diagnosticsDir, SUBDIR), onTmpfs: true }
  return { dir: join(fallbackRoot, SUBDIR), onTmpfs: false }
}

/** Removes snapshot temp files a crashed run left behind (see {@link sweepPrivateDir}). */
export function sweepSnapshotDir(dir: string): SweepResult {
  return sweepPrivateDir(dir, SNAPSHOT_FILE_PATTERN)
}
