/** Edit distance, for "did you mean" hints on mistyped flags and keys. */
function distance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
    }
    previous = current
  }
  return previous[b.length] as number
}

/** ` (did you mean --upstream?)` when one candidate is close enough, else ''. */
export function didYouMean (input: string, candidates: Iterable<string>): string {
  let best: string | null = null
  let bestDistance = Math.max(2, Math.floor(input.length / 4)) + 1
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best === null ? '' : ` (did you mean ${best}?)`
}
