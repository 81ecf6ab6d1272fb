import type { FastifyReply } from 'fastify'

/**
 * What the console's pages may load: their own scripts, styles and API, and
 * nothing else. No inline script (nor inline style attribute from markup,
 * nor eval), no other origin, no plugin, and no framing by anyone: a script
 * injected into a page would find nothing it could run.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')

/**
 * The maintenance page preview: the customer's page as the gateway renders it
 * (its own inline styles), in a sandbox where nothing runs, framed only by
 * the console.
 */
export const PREVIEW_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  'sandbox',
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'"
].join('; ')

const COMMON: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin'
}

/** Headers of every response under /ui/. */
export function secureConsoleReply (reply: FastifyReply, csp: string = CONSOLE_CSP): void {
  void reply.headers(COMMON)
  void reply.header('content-security-policy', csp)
  void reply.header('x-frame-options', csp === PREVIEW_CSP ? 'SAMEORIGIN' : 'DENY')
}
