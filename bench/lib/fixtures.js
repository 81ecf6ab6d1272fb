/** n CIDRs, the last one covering loopback so the bench client is let through after a full search. */
export function allowlist (n) {
  const out = []
  for (let i = 0; out.length < n - 1; i++) {
    out.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`)
    if (out.length < n - 1 && i % 3 === 0) out.push(`2001:db8:${i.toString(16)}::/48`)
  }
  out.push('127.0.0.0/8')
  return out
}

/** A realistic mix: static flags, rollouts, variants, rules, disabled ones. */
export function benchFlags (n) {
  const flags = []
  for (let i = 0; i < n; i++) {
    const key = `bench-flag-${i}`
    const body = { description: 'bench', enabled: i % 10 !== 0 }
    if (i % 4 === 1) body.rollout = { percentage: 50 }
    if (i % 4 === 2) body.variants = [{ name: 'control', weight: 50 }, { name: 'treatment', weight: 50 }]
    if (i % 4 === 3) body.rules = [{ attribute: 'plan', in: ['pro'], enabled: true }]
    flags.push({ key, body })
  }
  return flags
}
