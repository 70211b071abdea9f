export { HEAP_NEAR_HYSTERESIS, lastWordsCapability, previousCrashCollector } from './capability.js'
export { type CaptureBudget, type CaptureDeps, type CaptureResult, LastWordsCapture, PROCESS_CAPTURES } from './capture.js'
export { type EvidenceInput, type RunEvidence, gatherDeadRuns } from './evidence.js'
export { type FatalReportArming, type NodeReportHeader, armFatalReport, disarmFatalReport, isHeapOutOfMemory, readNodeReport } from './fatal-report.js'
export {
  type BoundedFile,
  type Bounds,
  LAST_WORDS_FILE,
  LAST_WORDS_KINDS,
  LAST_WORDS_SUBDIR,
  type LastWordsKind,
  NODE_REPORT_FILE,
  basicTime,
  capturePrefix,
  enforceBounds,
  lastWordsFileName,
  listBounded,
  writePrivateFile,
} from './files.js'
export { type HeapNearness, heapNearness, maxOldSpaceFlagBytes, oldGenerationLimit, oldGenerationUsed } from './heap-limit.js'
export { START_TIME_SLACK_MS, type Self, processStartTime, runIsAlive } from './liveness.js'
export {
  MARKER_POINTS,
  MARKER_UPDATE_MS,
  RUN_MARKER_FILE,
  type MarkerPoint,
  type MarkerSample,
  type RunMarker,
  RunMarkerFile,
  markerName,
  readMarker,
} from './marker.js'
export { KEPT_ENV, REDACTED, redactEnvironment, redactedNodeReport } from './node-report.js'
export { HEAP_NEAR_RANGE, LAST_WORDS_DEFAULTS, type LastWordsOptions, type ResolvedLastWordsOptions, resolveLastWords } from './options.js'
export { type ContainerNow, type PreviousCrash, crashMessage, decideCrash } from './previous-crash.js'
export {
  type CaptureTrigger,
  type CrashCause,
  type Growth,
  type HeapFacts,
  type LastWordsSites,
  type LastWordsSummary,
  growthOf,
  historyGrowth,
  mib,
  rate,
  siteName,
  trendOf,
} from './summary.js'
