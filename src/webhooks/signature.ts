import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * `X-Drawbridge-Signature: sha256=<hex>`: HMAC-SHA256 of the raw request body
 * with the webhook's secret, the scheme GitHub and most receivers already know.
 * Receivers must verify against the bytes they received, before parsing.
 */

export const SIGNATURE_HEADER = 'x-drawbridge-signature'

export function signBody (secret: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

/** Constant-time check of a received header against the body; false for any malformed header. */
export function verifySignature (secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (header === undefined) return false
  const expected = Buffer.from(signBody(secret, body))
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
