/**
 * Requests held while traffic is paused (kamal-proxy's `pause`): released in
 * arrival order on resume, or expired one by one when they have waited their
 * longest. Bounded in count and in bytes, so a pause under heavy traffic
 * cannot hold the process's memory hostage: past either bound, `hold`
 * refuses and the caller answers at once.
 */

export interface HeldRequest {
  /** What holding it costs: the request head plus what its body can buffer meanwhile. */
  readonly bytes: number
  /** The pause ended: forward it now. */
  release (): void
  /** It waited `waitMs`: answer it (the maintenance 503). */
  expire (): void
}

interface Ticket {
  readonly held: HeldRequest
  timer: NodeJS.Timeout | null
}

export class PauseQueue {
  /** A Set keeps insertion order and deletes in O(1): arrival order with cancellation. */
  private readonly tickets = new Set<Ticket>()
  private heldBytes = 0

  constructor (private readonly maxCount: number, private readonly maxBytes: number) {}

  get size (): number { return this.tickets.size }
  get bytes (): number { return this.heldBytes }

  /** Null when a bound is reached (answer now); else the handle to `cancel` with when the client leaves. */
  hold (held: HeldRequest, waitMs: number): object | null {
    if (this.tickets.size >= this.maxCount || this.heldBytes + held.bytes > this.maxBytes) return null
    const ticket: Ticket = { held, timer: null }
    ticket.timer = setTimeout(() => {
      ticket.timer = null
      if (this.remove(ticket)) held.expire()
    }, waitMs)
    this.tickets.add(ticket)
    this.heldBytes += held.bytes
    return ticket
  }

  /** The client went away: forget it (nothing is answered). */
  cancel (handle: object): void {
    this.remove(handle as Ticket)
  }

  /** Every held request in arrival order; the queue is empty before the first is released. */
  releaseAll (): void {
    for (const held of this.drain()) held.release()
  }

  expireAll (): void {
    for (const held of this.drain()) held.expire()
  }

  private drain (): HeldRequest[] {
    const out: HeldRequest[] = []
    for (const ticket of this.tickets) {
      if (ticket.timer !== null) clearTimeout(ticket.timer)
      out.push(ticket.held)
    }
    this.tickets.clear()
    this.heldBytes = 0
    return out
  }

  private remove (ticket: Ticket): boolean {
    if (!this.tickets.delete(ticket)) return false
    if (ticket.timer !== null) clearTimeout(ticket.timer)
    this.heldBytes -= ticket.held.bytes
    return true
  }
}
