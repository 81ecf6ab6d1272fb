import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../errors.js'

/**
 * The maintenance page template: read once at start, split once into literal
 * parts and slots, so rendering is a join of a few strings into a Buffer, done
 * once per state change (and at most once per second while Retry-After counts
 * down to endsAt), never per request.
 */

export type Slot = 'message' | 'retryAfter' | 'endsAt' | 'progress'

export interface PageTemplate {
  /** Literal text; parts.length === slots.length + 1. */
  readonly parts: readonly string[]
  readonly slots: readonly Slot[]
}

export interface PageValues {
  message: string
  retryAfter: number | null
  /** ISO timestamp, or null. */
  endsAt: string | null
  /** "Step 3 of 5" while a migration run holds the window; null (or absent) otherwise. */
  progress?: string | null
}

export const DEFAULT_MESSAGE = 'We are performing scheduled maintenance. We will be back shortly.'

/** static/maintenance.html of this package, wherever it is installed (never the cwd). */
export function defaultPagePath (): string {
  return fileURLToPath(new URL('../../static/maintenance.html', import.meta.url))
}

const SLOT = /\{\{\s*(message|retryAfter|endsAt|progress)\s*\}\}/g

export function parseTemplate (text: string): PageTemplate {
  const parts: string[] = []
  const slots: Slot[] = []
  let last = 0
  for (const match of text.matchAll(SLOT)) {
    parts.push(text.slice(last, match.index))
    slots.push(match[1] as Slot)
    last = match.index + match[0].length
  }
  parts.push(text.slice(last))
  return { parts, slots }
}

/** Reads the configured page (or the packaged default); a missing or unreadable file is a ConfigError on `page`. */
export function loadPageTemplate (path?: string): PageTemplate {
  const file = path ?? defaultPagePath()
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError('page', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseTemplate(text)
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

export function renderTemplate (template: PageTemplate, values: PageValues): Buffer {
  const slotText: Record<Slot, string> = {
    message: escapeHtml(values.message),
    retryAfter: values.retryAfter === null ? '' : String(values.retryAfter),
    endsAt: values.endsAt === null ? '' : escapeHtml(values.endsAt),
    progress: escapeHtml(values.progress ?? '')
  }
  let out = template.parts[0] as string
  for (let i = 0; i < template.slots.length; i++) {
    out += slotText[template.slots[i] as Slot] + (template.parts[i + 1] as string)
  }
  return Buffer.from(out, 'utf8')
}

export function renderJson (values: PageValues): Buffer {
  return Buffer.from(JSON.stringify({
    error: 'maintenance',
    message: values.message,
    retryAfter: values.retryAfter,
    endsAt: values.endsAt
  }), 'utf8')
}

/** A ready-to-write response: flat header list for res.writeHead and the body. */
export interface Rendered {
  readonly status: number
  readonly headers: readonly string[]
  readonly body: Buffer
}

export interface Negotiated {
  readonly html: Rendered
  readonly json: Rendered
}

export const HTML_TYPE = 'text/html; charset=utf-8'
export const JSON_TYPE = 'application/json; charset=utf-8'

export function rendered (status: number, contentType: string, body: Buffer, extra: readonly string[] = []): Rendered {
  return {
    status,
    headers: ['content-type', contentType, 'content-length', String(body.length), 'cache-control', 'no-store', 'vary', 'accept', ...extra],
    body
  }
}

/** How the window answers: its status (503 unless the operator chose another) and an optional page refresh. */
export interface AnswerOptions {
  status: number
  /** Seconds for `Refresh` on the HTML page (browsers reload it); null: none. */
  refresh: number | null
}

const DEFAULT_ANSWER: AnswerOptions = { status: 503, refresh: null }

/** The maintenance answer in both representations, with Retry-After when known. */
export function renderMaintenance (template: PageTemplate, values: PageValues, answer: AnswerOptions = DEFAULT_ANSWER): Negotiated {
  const extra = values.retryAfter === null ? [] : ['retry-after', String(values.retryAfter)]
  // Only a browser acts on Refresh; an API client polls by Retry-After.
  const page = answer.refresh === null ? extra : [...extra, 'refresh', String(answer.refresh)]
  return {
    html: rendered(answer.status, HTML_TYPE, renderTemplate(template, values), page),
    json: rendered(answer.status, JSON_TYPE, renderJson(values), extra)
  }
}

/** q-value of the most specific Accept range matching type/subtype, or -1 (and whether it was explicit). */
function quality (accept: string, type: string, subtype: string): { q: number, explicit: boolean } {
  let best = -1
  let specificity = -1
  for (const range of accept.split(',')) {
    const [mediaRaw = '', ...params] = range.split(';')
    const media = mediaRaw.trim().toLowerCase()
    const slash = media.indexOf('/')
    if (slash < 0) continue
    const t = media.slice(0, slash)
    const s = media.slice(slash + 1)
    let level: number
    if (t === type && s === subtype) level = 2
    else if (t === type && s === '*') level = 1
    else if (t === '*' && s === '*') level = 0
    else continue
    let q = 1
    for (const p of params) {
      const [k, v] = p.split('=')
      if (k?.trim().toLowerCase() === 'q' && v !== undefined) {
        const parsed = Number(v.trim())
        if (Number.isFinite(parsed)) q = parsed
      }
    }
    if (level > specificity) { specificity = level; best = q }
  }
  return { q: best, explicit: specificity === 2 }
}

/**
 * True when Accept prefers application/json over text/html: a higher q, or
 * the same q with JSON named and HTML only reached through a wildcard
 * (`application/json, text/plain, *\/*` from axios/fetch clients). Browsers,
 * curl's `*\/*` and a missing Accept get HTML.
 */
export function prefersJson (accept: string | undefined): boolean {
  if (accept === undefined || accept.indexOf('json') < 0) return false
  // API clients send the same Accept on every request: remember the last answer.
  if (accept === memo.accept) return memo.json
  const json = quality(accept, 'application', 'json')
  const html = quality(accept, 'text', 'html')
  const result = json.q > 0 && (json.q > html.q || (json.q === html.q && json.explicit && !html.explicit))
  memo.accept = accept
  memo.json = result
  return result
}

const memo = { accept: '', json: false }
