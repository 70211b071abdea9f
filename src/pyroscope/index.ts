export { pyroscopeCapability } from './capability.js'
export { uploadsCollector, type UploadCountsSource } from './collector.js'
export { PYROSCOPE_ENV_VARS, readPyroscopeEnv } from './env.js'
export { INSTALL_HINT, loadPyroscope, type LoadedPyroscope, type ProfileExport, type WallSource } from './module.js'
export {
  PYROSCOPE_DEFAULTS,
  PYROSCOPE_RANGES,
  checkServerAddress,
  isValidLabelValue,
  resolvePyroscope,
  type PyroscopeHeapOptions,
  type PyroscopeOptions,
  type PyroscopeWallOptions,
  type ResolvedPyroscopeOptions,
} from './options.js'
export { PyroscopeProfiling, type PyroscopeProfilingDeps, type PyroscopeSection } from './profiling.js'
export { POD_TAG_SOURCES, PROFILE_KINDS, applicationName, effectiveTags, ingestHeaders, ingestUrl, type ProfileKind, type ProfileWindow } from './protocol.js'
export { IngestUploader, UPLOAD_OUTCOMES, type LastUpload, type OutcomeCounts, type UploadOutcome, type UploaderOptions } from './uploader.js'
export { RateLimitedWarnings, WARNING_WINDOW_MS } from './warnings.js'
