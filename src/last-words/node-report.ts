/**
 * Node's diagnostic report (`process.report.getReport()`) as last words write it: the JavaScript
 * and native stacks, heap spaces, libuv handles, resource usage and limits, with the environment's
 * values redacted (they hold tokens and passwords), except the few that explain memory behaviour.
 * Taking it costs tens of milliseconds: acceptable at a critical moment, never on a timer.
 */

/** Environment variables whose values stay in the report: they shape how the process uses memory. */
export const KEPT_ENV = Object.freeze(new Set(['NODE_OPTIONS', 'NODE_ENV', 'UV_THREADPOOL_SIZE', 'MALLOC_ARENA_MAX']))

/** What a redacted value reads. */
export const REDACTED = '[redacted]'

/** Redacts the values of `environmentVariables` in a report object, in place; returns it. */
export function redactEnvironment(report: Record<string, unknown>): Record<string, unknown> {
  const env = report.environmentVariables
  if (env !== null && typeof env === 'object') {
    report.environmentVariables = Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, KEPT_ENV.has(k) ? v : REDACTED]))
  }
  return report
}

/** Node's diagnostic report now, environment redacted, as JSON text. */
export function redactedNodeReport(): string {
  const raw: unknown = process.report.getReport()
  const report = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>
  return JSON.stringify(redactEnvironment(report))
}
