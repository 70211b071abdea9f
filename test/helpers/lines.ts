// A child process's output as whole lines: chunks from a pipe split anywhere, so a line is passed
// on only once its newline has arrived.
import type { Readable } from 'node:stream'

/**
 * Calls `onLine` with each complete line `stream` emits (without its `\n`), and `onChunk`, when
 * given, once after each chunk's lines (so waiters can look again).
 */
export function eachLine(stream: Readable, onLine: (line: string) => void, onChunk?: () => void): void {
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    partial += chunk
    let nl: number
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      onLine(line)
    }
    onChunk?.()
  })
}
