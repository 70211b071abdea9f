import { fileURLToPath } from 'node:url'
import { Function as PprofFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format'

/**
 * One node of V8's sampling heap profile, as both backends deliver it once normalised: a call
 * path from the root, with the live sampled bytes and objects attributed to that exact path.
 */
export interface AllocationNode {
  /** Function name; `''` for anonymous functions and V8's synthetic frames. */
  readonly name: string
  /** Absolute file path (file URLs are converted), a `node:` name, or `''` when V8 has none. */
  readonly file: string
  /** 1-based line where the function is defined (V8 samples per function, not per statement); 0 when unknown. */
  readonly line: number
  /** 1-based column of the function's definition; 0 when unknown. */
  readonly column: number
  /** V8's script id: tells apart two scripts with the same name. */
  readonly scriptId: number
  /** Estimated live bytes allocated by this node itself (not its children). */
  readonly bytes: number
  /** Estimated live objects allocated by this node itself. */
  readonly objects: number
  readonly children: readonly AllocationNode[]
}

/** The sample types of every heap profile oomkit serves, in order: the pprof (and Go) convention. */
export const HEAP_SAMPLE_TYPES = Object.freeze([Object.freeze({ type: 'inuse_objects', unit: 'count' }), Object.freeze({ type: 'inuse_space', unit: 'bytes' })])

/** Turns V8's script name into a plain path: ESM scripts are named by `file://` URL. */
export function scriptPath(scriptName: string): string {
  if (!scriptName.startsWith('file://')) return scriptName
  try {
    return fileURLToPath(scriptName)
  } catch {
    return scriptName.slice('file://'.length)
  }
}

/** Options of {@link encodeHeapProfile}. */
export interface EncodeOptions {
  /** The sampling interval in bytes, written as the profile's period. */
  readonly intervalBytes: number
  /** When the profile was taken, in ms since the epoch. @default Date.now() */
  readonly timeMs?: number
}

/**
 * Encodes a normalised allocation tree as a pprof `Profile` with sample types
 * `[inuse_objects/count, inuse_space/bytes]`, one sample per call path that holds live bytes,
 * and Location/Line/Function tables carrying function names, files and lines. The root node
 * itself is V8's `(root)` and is left out, as `@datadog/pprof` does.
 *
 * @example
 * const gz = gzipSync(encodeHeapProfile(tree, { intervalBytes: 524288 }).encode())
 */
export function encodeHeapProfile(root: AllocationNode, options: EncodeOptions): Profile {
  const strings = new StringTable()
  const functions: PprofFunction[] = []
  const locations: Location[] = []
  const samples: Sample[] = []
  const functionIds = new Map<string, number>()
  const locationIds = new Map<string, number>()

  function functionId(node: AllocationNode): number {
    const key = node.name === '' ? `${node.scriptId}:${node.line}:${node.column}` : `${node.scriptId}:${node.name}:${node.file}`
    let id = functionIds.get(key)
    if (id === undefined) {
      id = functions.length + 1
      functionIds.set(key, id)
      const name = strings.dedup(node.name === '' ? '(anonymous)' : node.name)
      functions.push(new PprofFunction({ id, name, systemName: name, filename: strings.dedup(node.file), startLine: node.line }))
    }
    return id
  }

  function locationId(node: AllocationNode): number {
    const key = `${node.scriptId}:${node.line}:${node.column}:${node.name}:${node.file}`
    let id = locationIds.get(key)
    if (id === undefined) {
      id = locations.length + 1
      locationIds.set(key, id)
      locations.push(new Location({ id, line: [new Line({ functionId: functionId(node), line: node.line })] }))
    }
    return id
  }

  // Iterative walk (a deep recursion in the app must not overflow oomkit's stack); each path is a
  // linked list to its parent, spelled out only for nodes that hold bytes.
  interface Path {
    readonly id: number
    readonly parent: Path | null
  }
  const pending: { node: AllocationNode; parent: Path | null }[] = root.children.map((node) => ({ node, parent: null }))
  while (pending.length > 0) {
    const { node, parent } = pending.pop() as { node: AllocationNode; parent: Path | null }
    const path: Path = { id: locationId(node), parent }
    if (node.bytes > 0 || node.objects > 0) {
      // pprof lists a sample's locations leaf first.
      const stack: number[] = []
      for (let p: Path | null = path; p !== null; p = p.parent) stack.push(p.id)
      samples.push(new Sample({ locationId: stack, value: [Math.round(node.objects), Math.round(node.bytes)] }))
    }
    for (const child of node.children) pending.push({ node: child, parent: path })
  }

  const sampleType = HEAP_SAMPLE_TYPES.map((t) => new ValueType({ type: strings.dedup(t.type), unit: strings.dedup(t.unit) }))
  const space = sampleType[1] as ValueType
  return new Profile({
    sampleType,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Math.round(options.timeMs ?? Date.now())) * 1_000_000n,
    periodType: space,
    period: options.intervalBytes,
    defaultSampleType: space.type,
  })
}

/** A string of the profile's string table (pprof stores every string as an index). */
export function profileString(profile: Profile, index: number | bigint): string {
  return profile.stringTable.strings[Number(index)] ?? ''
}
