import neostandard from 'neostandard'

export default [
  // src/**/*.generated.ts: written by scripts/gen-schema-checks.ts (TypeBox's compiled JavaScript), checked against it by a test.
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**', 'helm/**', 'src/**/*.generated.ts'] }),
  {
    rules: {
      // `void promise` marks a deliberately detached task (timers, background retries).
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
