import type { AnyCapabilityDefinition } from './capability.js'
import { cacheCapability } from './cache/index.js'
import { heapProfileCapability } from './heap/profile/index.js'
import { snapshotCapability } from './heap/snapshot/index.js'
import { trendCapability } from './trend/index.js'
import { lastWordsCapability } from './last-words/index.js'
import { pyroscopeCapability } from './pyroscope/index.js'
import { leaksCapability } from './leaks/index.js'

/**
 * Every capability, in start order (they stop in reverse). Adding one is one line here; its
 * folder declares its option, its report section, its routes and collectors.
 */
export const CAPABILITIES: readonly AnyCapabilityDefinition[] = [
  heapProfileCapability,
  snapshotCapability,
  trendCapability,
  lastWordsCapability,
  pyroscopeCapability,
  leaksCapability,
  cacheCapability,
]
