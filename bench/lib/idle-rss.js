import { setTimeout as sleep } from 'node:timers/promises'
import { rssOf, stop } from './processes.js'

/**
 * Idle RSS, each contender started fresh `starts` times (alternating, so
 * drift falls on both) and read `settleMs` after it says it is ready. One
 * reading of one process varies by 2–3 MB with where GC happened to be, more
 * than the difference this compares, so the figure is the median of five starts.
 * `contenders`: { id, start: () => Promise<proc> }.
 */
export async function idleRss (contenders, { starts = 5, settleMs = 3000 } = {}) {
  const samples = new Map(contenders.map((c) => [c.id, []]))
  for (let i = 0; i < starts; i++) {
    for (const c of i % 2 === 0 ? contenders : [...contenders].reverse()) {
      const proc = await c.start()
      await sleep(settleMs)
      samples.get(c.id).push(rssOf(proc.pid) / 2 ** 20)
      await stop(proc)
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  return Object.fromEntries([...samples].map(([id, xs]) => [id, { medianMB: median(xs), samplesMB: xs }]))
}
