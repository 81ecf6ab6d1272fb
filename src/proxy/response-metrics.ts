import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { methodIndex, METHOD_LABELS, STATUS_CLASSES, statusClassIndex, type Metrics } from '../metrics.js'

/**
 * Responses by decision × status class × method, and the end-to-end duration.
 * Each decision gets a recorder with its label children bound lazily in a flat
 * array, so recording is an index computation and a property bump.
 */
export interface ResponseRecorder {
  /** `started`: performance.now() when the request arrived; null for tunnels (no duration). */
  record (method: string | undefined, status: number, started: number | null): void
}

export function createResponseRecorders (metrics: Metrics, decisions: readonly string[]): Map<string, ResponseRecorder> {
  const recorders = new Map<string, ResponseRecorder>()
  const duration = metrics.requestDuration
  for (const decision of decisions) {
    const slots: Array<{ inc: (by?: number) => void } | undefined> = []
    recorders.set(decision, {
      record (method, status, started) {
        const m = methodIndex(method)
        const c = statusClassIndex(status)
        const i = c * METHOD_LABELS.length + m
        let slot = slots[i]
        if (slot === undefined) {
          slot = metrics.responses.labels({ decision, code: STATUS_CLASSES[c] as string, method: METHOD_LABELS[m] as string })
          slots[i] = slot
        }
        slot.inc()
        if (started !== null) duration.observe((performance.now() - started) / 1000)
      }
    })
  }
  return recorders
}

/**
 * Open connections and bytes through them, read at scrape time: a socket's
 * counts are folded into the totals when it closes, and open ones are summed
 * when scraped. Nothing is done per request.
 */
export function watchConnections (server: Server, metrics: Metrics): void {
  const open = new Set<Socket>()
  let closedRead = 0
  let closedWritten = 0
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => {
      open.delete(socket)
      closedRead += socket.bytesRead
      closedWritten += socket.bytesWritten
    })
  })
  const sum = (field: 'bytesRead' | 'bytesWritten', closed: () => number) => () => {
    let total = closed()
    for (const socket of open) total += socket[field]
    return total
  }
  metrics.openConnections.source(() => open.size)
  metrics.bytesReceived.source(sum('bytesRead', () => closedRead))
  metrics.bytesSent.source(sum('bytesWritten', () => closedWritten))
}
