/** Plain text helpers of the forms (no DOM, no JSX: the form logic is unit-tested in Node). */

/** A textarea's lines, trimmed, empty ones left out. */
export function lines (text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '')
}
