/**
 * Anything at or above this is the kernel's "no limit": v1 writes PAGE_COUNTER_MAX pages in bytes
 * (9223372036854771712 with 4 KiB pages, less with larger pages), v2 writes `max`.
 */
export const UNLIMITED_THRESHOLD = 2 ** 62

/** Parses a file holding one non-negative integer; anything else (empty, garbage, negative) is null. */
export function parseBytes(text: string | null): number | null {
  if (text === null) return null
  const t = text.trim()
  if (!/^\d{1,20}$/.test(t)) return null
  const n = Number(t)
  return Number.isFinite(n) ? n : null
}

/** Parses a limit file: `max`, the v1 sentinel, empty or garbage all mean "no limit / unknown" (null). */
export function parseLimit(text: string | null): number | null {
  const n = parseBytes(text)
  return n === null || n >= UNLIMITED_THRESHOLD ? null : n
}

/** Parses flat keyed files (`memory.stat`, `memory.events`, `memory.oom_control`); bad lines are left out. */
export function parseKeyed(text: string | null): Map<string, number> {
  const out = new Map<string, number>()
  if (text === null) return out
  for (const line of text.split('\n')) {
    const m = /^(\w+) (\d{1,20})$/.exec(line.trim())
    if (m !== null) out.set(m[1] as string, Number(m[2]))
  }
  return out
}

/** One line of a PSI file. `totalSeconds` is the cumulative stall time. */
export interface PressureLine {
  readonly avg10: number
  readonly avg60: number
  readonly avg300: number
  readonly totalSeconds: number
}

/** PSI of the memory cgroup (`memory.pressure`), cgroup v2 only. */
export interface MemoryPressure {
  readonly some: PressureLine | null
  readonly full: PressureLine | null
}

/** Parses a PSI file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0`); null when neither line parses. */
export function parsePressure(text: string | null): MemoryPressure | null {
  if (text === null) return null
  let some: PressureLine | null = null
  let full: PressureLine | null = null
  for (const line of text.split('\n')) {
    const m = /^(some|full) avg10=(\d+(?:\.\d+)?) avg60=(\d+(?:\.\d+)?) avg300=(\d+(?:\.\d+)?) total=(\d+)$/.exec(line.trim())
    if (m === null) continue
    const parsed = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalSeconds: Number(m[5]) / 1e6 }
    if (m[1] === 'some') some = parsed
    else full = parsed
  }
  return some === null && full === null ? null : { some, full }
}
