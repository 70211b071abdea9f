export { locateMemoryCgroup, type CgroupLocation } from './locate.js'
export { readContainerMemory, workingSet, type ContainerMemory } from './read.js'
export { parseBytes, parseLimit, parseKeyed, parsePressure, UNLIMITED_THRESHOLD, type MemoryPressure, type PressureLine } from './parse.js'
export { utilization } from './utilization.js'
