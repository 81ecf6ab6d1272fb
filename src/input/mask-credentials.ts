/**
 * Hides credentials in a text (an error message, a setting echoed back), in a
 * URL or not: a mistyped URL (`postgres//app:pw@db`) is exactly the one that
 * cannot be parsed, and it still holds the password. The password of every
 * `user:password@host` is replaced (the user name is kept so the message still
 * says which account it was; a password may itself contain `@`, so it runs to
 * the last `@` before whitespace, a quote or a `/`), and `password=`-style
 * parameters are blanked.
 */
const USERINFO = /([\w.%+~-]*):([^\s"'<>/]+)@/g
const PARAMS = /([?&;\s](?:password|pass|pwd|secret|token)=)[^&;\s]*/gi

export const MASK = '****'

export function maskCredentials (text: string): string {
  const out = text.replace(PARAMS, `$1${MASK}`)
  if (!out.includes('@')) return out
  // A user name alone may be a token (redis://token@host): masked too.
  return out.replace(USERINFO, (_all, user: string) => `${user}:${MASK}@`).replace(/(\/\/|^|[\s"'])([^\s/@:"']+)@/g, `$1${MASK}@`)
}
