import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Registry, RegistryContentType } from 'prom-client'
import type { OomkitLogger } from '../logging/logger.js'
import { RANGES } from './ranges.js'
import { boolOption, intOption, invalidOption, ratioOption, stringOption } from './validate.js'

/** The core's options of {@link createOomkit}: sampling, thresholds, where to read and write. */
export interface CoreOptions {
  /** pino logger oomkit writes to. @default a pino logger on stdout, `name: "oomkit"` */
  logger?: OomkitLogger
  /** prom-client registry to register into; the app and oomkit must share it. @default prom-client's default `register` */
  registry?: Registry<RegistryContentType>
  /** How often the sampler reads process, V8 and cgroup memory, in ms (100 to 3,600,000). @default 5000 */
  sampleIntervalMs?: number
  /**
   * The watchdog's interval while the working set is above `warnRatio` (or a capability sees the
   * limit minutes away), in ms (50 to 60,000; never slower than `sampleIntervalMs`). @default 500
   */
  fastSampleIntervalMs?: number
  /** How often the `"memory"` info line is logged, in ms; 0 turns it off (else 1000 to 86,400,000). @default 30000 */
  logIntervalMs?: number
  /** Samples kept in the history ring (1 to 10,000). @default 120 */
  historySize?: number
  /** Working set / limit ratio that logs a warning once per episode (0 < r < criticalRatio). @default 0.85 */
  warnRatio?: number
  /** Working set / limit ratio that logs an error once per episode (warnRatio < r ≤ 1). @default 0.95 */
  criticalRatio?: number
  /** Share of the container limit recommended for `--max-old-space-size` (0.1 to 0.95). @default 0.75 */
  heapRatio?: number
  /** Directory for last words and snapshot temp files (created 0700). @default `<os.tmpdir()>/oomkit` */
  diagnosticsDir?: string
  /** Where the cgroup filesystem is mounted; point it at a fixture tree in tests. @default "/sys/fs/cgroup" */
  cgroupRoot?: string
  /** Where procfs is mounted (`<procRoot>/self/cgroup`, `<procRoot>/self/mountinfo`). @default "/proc" */
  procRoot?: string
  /** Register prom-client's default metrics too (skipped when the registry already has them). @default true */
  defaultMetrics?: boolean
  /** Longest a metrics collector may take before its series are skipped from a scrape, in ms (10 to 10,000). @default 500 */
  collectorTimeoutMs?: number
}

/** Core options after defaults are applied. */
export interface ResolvedCoreOptions {
  readonly logger: OomkitLogger | undefined
  readonly registry: Registry<RegistryContentType> | undefined
  readonly sampleIntervalMs: number
  readonly fastSampleIntervalMs: number
  readonly logIntervalMs: number
  readonly historySize: number
  readonly warnRatio: number
  readonly criticalRatio: number
  readonly heapRatio: number
  readonly diagnosticsDir: string
  readonly cgroupRoot: string
  readonly procRoot: string
  readonly defaultMetrics: boolean
  readonly collectorTimeoutMs: number
}

/** Defaults of every core option. */
export const CORE_DEFAULTS = Object.freeze({
  sampleIntervalMs: 5000,
  fastSampleIntervalMs: 500,
  logIntervalMs: 30_000,
  historySize: 120,
  warnRatio: 0.85,
  criticalRatio: 0.95,
  heapRatio: 0.75,
  diagnosticsDir: join(tmpdir(), 'oomkit'),
  cgroupRoot: '/sys/fs/cgroup',
  procRoot: '/proc',
  defaultMetrics: true,
  collectorTimeoutMs: 500,
})

/** Every core option's key. */
export const CORE_KEYS: readonly string[] = ['logger', 'registry', ...Object.keys(CORE_DEFAULTS)]

function loggerOption(value: unknown): OomkitLogger | undefined {
  if (value === undefined) return undefined
  const l = value as Record<string, unknown> | null
  if (l === null || typeof l !== 'object' || !['info', 'warn', 'error', 'debug'].every((m) => typeof l[m] === 'function')) {
    invalidOption('logger', 'a pino logger (an object with info, warn, error and debug methods)', value)
  }
  return value as OomkitLogger
}

function registryOption(value: unknown): ResolvedCoreOptions['registry'] {
  if (value === undefined) return undefined
  const r = value as Record<string, unknown> | null
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.registerMetric !== 'function' ||
    typeof r.getSingleMetric !== 'function' ||
    typeof r.metrics !== 'function'
  ) {
    invalidOption('registry', 'a prom-client Registry', value)
  }
  return value as ResolvedCoreOptions['registry']
}

/** Validates the core options of an already key-checked options object; throws on the first bad one. */
export function resolveCore(o: Record<string, unknown>): ResolvedCoreOptions {
  const d = CORE_DEFAULTS
  const warnRatio = ratioOption('warnRatio', o.warnRatio, d.warnRatio, 0, 1, true)
  const criticalRatio = ratioOption('criticalRatio', o.criticalRatio, d.criticalRatio, 0, 1, true)
  if (warnRatio >= criticalRatio) invalidOption('warnRatio', `a number below criticalRatio (${criticalRatio})`, warnRatio)
  return {
    logger: loggerOption(o.logger),
    registry: registryOption(o.registry),
    sampleIntervalMs: intOption('sampleIntervalMs', o.sampleIntervalMs, d.sampleIntervalMs, RANGES.sampleIntervalMs),
    fastSampleIntervalMs: intOption('fastSampleIntervalMs', o.fastSampleIntervalMs, d.fastSampleIntervalMs, RANGES.fastSampleIntervalMs),
    logIntervalMs: intOption('logIntervalMs', o.logIntervalMs, d.logIntervalMs, RANGES.logIntervalMs),
    historySize: intOption('historySize', o.historySize, d.historySize, RANGES.historySize),
    warnRatio,
    criticalRatio,
    heapRatio: ratioOption('heapRatio', o.heapRatio, d.heapRatio, 0.1, 0.95, false),
    diagnosticsDir: stringOption('diagnosticsDir', o.diagnosticsDir, d.diagnosticsDir),
    cgroupRoot: stringOption('cgroupRoot', o.cgroupRoot, d.cgroupRoot),
    procRoot: stringOption('procRoot', o.procRoot, d.procRoot),
    defaultMetrics: boolOption('defaultMetrics', o.defaultMetrics, d.defaultMetrics),
    collectorTimeoutMs: intOption('collectorTimeoutMs', o.collectorTimeoutMs, d.collectorTimeoutMs, RANGES.collectorTimeoutMs),
  }
}
