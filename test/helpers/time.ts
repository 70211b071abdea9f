/** Waits `ms` milliseconds (keep them short: timing logic takes an injected clock instead). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Resolves once `check` holds (polled every 5 ms), or rejects after `timeoutMs` naming `what` it waited for. */
export async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** heapUsed after two full GCs (the second collects what the first one's finalizers freed); needs --expose-gc. */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('settledHeap needs --expose-gc')
  await tick()
  gc()
  await tick()
  gc()
  return process.memoryUsage().heapUsed
}
