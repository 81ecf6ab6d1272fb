/** Reading cookies from a raw Cookie header, cheaply: the request path reads one cookie of many. */

/**
 * Value of one cookie in a Cookie header (first occurrence), without parsing
 * the others: most requests carry no bypass cookie and pay one indexOf.
 */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let at = header.indexOf(name)
  while (at >= 0) {
    const before = at === 0 ? 59 : header.charCodeAt(at - 1)
    const end = at + name.length
    if ((before === 59 || before === 32 || before === 9) && header.charCodeAt(end) === 61) {
      let stop = header.indexOf(';', end + 1)
      if (stop < 0) stop = header.length
      let value = header.slice(end + 1, stop).trim()
      if (value.length > 1 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1)
      return value
    }
    at = header.indexOf(name, end)
  }
  return undefined
}

/**
 * Every value of one cookie in a Cookie header: undefined (none), a string
 * (one, the common case) or an array (several). A client may send several
 * cookies of the same name (different paths or domains); each is a candidate,
 * so a forged first one cannot hide a valid one.
 */
export function readCookieValues (header: string | undefined, name: string): string | string[] | undefined {
  const first = readCookie(header, name)
  if (first === undefined || header === undefined) return first
  const again = header.indexOf(name, header.indexOf(name) + name.length)
  if (again < 0) return first
  const values: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.length > 1 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1)
    values.push(value)
  }
  return values.length === 1 ? values[0] : values
}
