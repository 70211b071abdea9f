export { snapshotCapability } from './capability.js'
export {
  SNAPSHOT_OUTCOMES,
  SnapshotGuard,
  type SnapshotAssessment,
  type SnapshotGuardDeps,
  type SnapshotOutcome,
  type SnapshotRefusal,
  type SnapshotStatus,
} from './guard.js'
export { SNAPSHOT_DEFAULTS, resolveSnapshot, type ResolvedSnapshotOptions, type SnapshotOptions } from './options.js'
export { acceptsGzip, downloadName, snapshotRoute } from './route.js'
export { FALLBACK_SNAPSHOT_ROOT, SNAPSHOT_FILE_PATTERN, plannedSnapshotDir, prepareSnapshotDir, sweepSnapshotDir, type SnapshotDir } from './dir.js'
export {
  SNAPSHOT_HEADER,
  SnapshotWriteError,
  closeLeakedDescriptors,
  openValidated,
  removeQuietly,
  snapshotFileName,
  writeSnapshotFile,
  type WrittenSnapshot,
} from './write.js'
export { FILE_BYTES_PER_HEAP_BYTE, SNAPSHOT_COST_COEFFICIENTS, estimateSnapshotCost, readHeapCostInput, type HeapCostInput } from './cost.js'
export { TMPFS_MAGIC, freeDiskBytes, isOnTmpfs } from '../../diagnostics/private-dir.js'
