/**
 * Skip rules shared by every suite.
 *
 * A test that needs something the machine lacks (root, promtool, ...) skips with a printed reason;
 * in CI (`OOMKIT_REQUIRE_ALL=1`) such a skip is a failure, so a missing package can't turn a
 * suite silently green.
 *
 * @example
 * describe.runIf(requireOrSkip(existsSync('/usr/bin/promtool'), 'promtool is not installed'))('promtool', () => { ... })
 */
export function requireOrSkip(condition: boolean, reason: string): boolean {
  if (condition) return true
  console.warn(`SKIP: ${reason}`)
  if (process.env.OOMKIT_REQUIRE_ALL === '1') {
    throw new Error(`OOMKIT_REQUIRE_ALL=1 and a test would be skipped: ${reason}`)
  }
  return false
}

/**
 * The one exception to OOMKIT_REQUIRE_ALL: the kernel itself refused to create a memory cgroup
 * (tried for real). No package install fixes that, so the tests skip even in CI, with a banner
 * that nobody can miss in the log. Returns false (do not run).
 */
export function skipLoudly(reason: string): false {
  const line = '!'.repeat(100)
  console.warn(`\n${line}\n!!! SKIPPED EVEN UNDER OOMKIT_REQUIRE_ALL: ${reason}\n!!! The real-cgroup tests did not run on this machine.\n${line}\n`)
  return false
}
