import type { Budget, BudgetVerdict } from '../memory/budget.js'
import { type Collector, defineCollector } from './collector.js'
import type { FamilyValue } from './family.js'

/** Every verdict the `verdict` label of `oomkit_memory_budget_info` can carry. */
export const BUDGET_VERDICTS: readonly BudgetVerdict[] = Object.freeze([
  'ok',
  'heap-limit-exceeds-container',
  'heap-limit-far-below-container',
  'no-container-limit',
  'unknown',
])

/**
 * The budget check as a metric, so that an alert can say "this pod's heap limit does not fit its
 * container" without reading logs: one series, `oomkit_memory_budget_info{verdict, recommended_flag} 1`,
 * read at scrape time from the verdict the core fixed at start (and checked again after an
 * in-place resize). `recommended_flag` is the flag the advice names, absent without a limit.
 */
export function budgetCollector(read: () => Budget): Collector<Budget> {
  return defineCollector({
    name: 'budget',
    read,
    families: [
      {
        name: 'memory_budget_info',
        type: 'gauge',
        help: "The budget check: V8's heap limit against the container limit, by verdict (ok, heap-limit-exceeds-container, heap-limit-far-below-container, no-container-limit, unknown); 1 for the current one.",
        values: (b) => {
          const labels: Record<string, string> = { verdict: b.verdict }
          if (b.recommendedFlag !== null) labels.recommended_flag = b.recommendedFlag
          return [{ value: 1, labels }] satisfies FamilyValue[]
        },
      },
    ],
  })
}
