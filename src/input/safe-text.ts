/**
 * Bytes that must never reach a header, a log line or a path rule from
 * stored input: C0 controls (CR, LF, NUL, TAB...), DEL and C1 controls.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function hasControlChars (text: string): boolean {
  return CONTROL.test(text)
}

/** Visible ASCII only: what a `Location` header may carry without encoding. */
const VISIBLE_ASCII = /^[\u0021-\u007e]*$/

export function isVisibleAscii (text: string): boolean {
  return VISIBLE_ASCII.test(text)
}
