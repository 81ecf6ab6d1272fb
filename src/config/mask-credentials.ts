/**
 * Hides the password of every `user:password@host` in a text (an error
 * message, a setting echoed back), in a URL or not: a mistyped URL
 * (`postgres//app:pw@db`) is exactly the one that cannot be parsed, and it
 * still holds the password. The user name is kept so the message still says
 * which account it was. A password may itself contain `@` (unencoded), so it
 * runs to the last `@` before whitespace, a quote or a `/`.
 */
const USERINFO = /([\w.%+~-]*):([^\s"'<>/]+)@/g

export const MASK = '****'

export function maskCredentials (text: string): string {
  if (!text.includes('@')) return text
  return text.replace(USERINFO, (_all, user: string) => `${user}:${MASK}@`)
}
