import t from 'tap'
import { nextRestartDelay } from '../src/cluster/restart-backoff.js'

t.test('restart delay: 1 s, doubling to 30 s while workers die young, reset after a minute up', async (t) => {
  const delays: number[] = []
  let previous: number | null = null
  for (let i = 0; i < 8; i++) {
    previous = nextRestartDelay(previous, 500)
    delays.push(previous)
  }
  t.same(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
  t.equal(nextRestartDelay(30000, 59_999), 30000, 'still young')
  t.equal(nextRestartDelay(30000, 60_000), 1000, 'a minute up resets it')
})
