/**
 * A URL setting as it may be shown in an error or a log line: whatever stands
 * before the last `@` (user, password, or a token used as the user name) is
 * replaced by `***`, and `password=` parameters are blanked. Works on text that
 * is not a valid URL, because that is exactly when the value gets quoted back
 * (`postgres//admin:hunter2@db` is a typo, and still a password).
 */
export function maskCredentials (text: string): string {
  let out = text.replace(/([?&;\s](?:password|pass|pwd|secret|token)=)[^&;\s]*/gi, '$1***')
  const at = out.lastIndexOf('@')
  if (at >= 0) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*(?::\/*|\/\/)/.exec(out)?.[0] ?? ''
    out = scheme + '***' + out.slice(at)
  }
  return out
}
