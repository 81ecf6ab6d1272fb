import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**', 'helm/**'] }),
  {
    rules: {
      // `void promise` marks a deliberately detached task (timers, background retries).
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
