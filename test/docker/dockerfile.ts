import { readFileSync } from 'node:fs'

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  stage: number
  keyword: string
  args: string
  line: number
}

export interface Stage {
  index: number
  from: string
  name: string | null
  instructions: Instruction[]
}

/** Enough of the Dockerfile grammar for what this project's Dockerfile uses (no heredocs). */
export function parseDockerfile (path: string): { args: Record<string, string>, stages: Stage[] } {
  const lines = readFileSync(path, 'utf8').split('\n')
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  let buffer = ''
  let startLine = 0
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string
    if (buffer === '' && (raw.trim() === '' || raw.trim().startsWith('#'))) continue
    if (buffer === '') startLine = i + 1
    if (raw.trim().startsWith('#')) continue // comment inside a continued instruction
    if (raw.endsWith('\\')) {
      buffer += raw.slice(0, -1) + ' '
      continue
    }
    const text = (buffer + raw).trim()
    buffer = ''
    const m = /^(\S+)\s*(.*)$/.exec(text)
    if (m === null) continue
    const keyword = (m[1] as string).toUpperCase()
    const rest = (m[2] as string).trim()
    if (keyword === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)
      const image = (f?.[1] ?? rest).replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '')
      stages.push({ index: stages.length, from: image, name: f?.[2] ?? null, instructions: [] })
      continue
    }
    if (keyword === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=', 2)
      args[k as string] = (v ?? '').replace(/^"|"$/g, '')
      continue
    }
    const stage = stages[stages.length - 1]
    stage?.instructions.push({ stage: stage.index, keyword, args: rest, line: startLine })
  }
  return { args, stages }
}

/** `ENV A=1 B=2` (the only ENV form used here) as a map. */
export function envOf (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=')
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"|"$/g, '')
    }
  }
  return env
}

/** COPY [--from=x] src... dest, as { from, sources, dest }. */
export function copiesOf (stage: Stage): Array<{ from: string | null, sources: string[], dest: string, line: number }> {
  return stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => {
    const words = i.args.split(/\s+/)
    let from: string | null = null
    while (words[0]?.startsWith('--') === true) {
      const flag = words.shift() as string
      if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
    }
    const dest = words.pop() as string
    return { from, sources: words, dest, line: i.line }
  })
}

export function execForm (ins: Instruction | undefined): string[] | null {
  if (ins === undefined) return null
  try {
    const parsed = JSON.parse(ins.args) as unknown
    return Array.isArray(parsed) ? parsed.map(String) : null
  } catch {
    return null
  }
}
