import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers, child processes and cgroups: forks isolate them, and two workers fit 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1, execArgv: ['--expose-gc'] } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
