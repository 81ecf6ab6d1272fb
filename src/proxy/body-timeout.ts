import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/**
 * A request body that stops moving for `bodyTimeoutMs` is cut (nginx's
 * client_body_timeout). The socket timeout measures inactivity, so a long
 * upload that keeps sending is never cut. The handlers are created once and
 * take the request as `this`: nothing allocated per request.
 */
export function createBodyWatch (bodyTimeoutMs: number): (req: IncomingMessage) => void {
  function onStalledBody (this: IncomingMessage): void { this.socket.destroy() }
  function onBodyEnd (this: IncomingMessage): void {
    this.off('timeout', onStalledBody)
    // Only our own timer: after an early response Node may have armed its keep-alive timeout instead.
    const socket = this.socket as Socket & { timeout?: number }
    if (socket.timeout === bodyTimeoutMs) socket.setTimeout(0)
  }
  return (req) => {
    req.setTimeout(bodyTimeoutMs, onStalledBody)
    req.once('end', onBodyEnd)
  }
}
