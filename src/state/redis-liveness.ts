import type { RedisClient } from './redis-client.js'

/** How often each connection is probed. */
export const PROBE_INTERVAL_MS = 1000

export interface ProbedConnection {
  client: RedisClient
  /**
   * One cheap round trip. Resolves to null when the server is as it should
   * be, or to what is wrong with it (a replica where a master is wanted).
   */
  probe: () => Promise<string | null>
  /** Told once per stall, before the connection is dropped and made again. */
  onStall: (reason: string) => void
  /** Told after every probe that found the server as it should be. */
  onAlive: () => void
}

/**
 * Notices a Redis that stopped answering while its connection stays open: a
 * frozen server (its kernel still accepts and acknowledges), one cut off by
 * a network that drops packets, or a master that turned replica under us. Left
 * alone, ioredis keeps such a connection: every command times out and nothing
 * reconnects, so through Sentinel the client never asks for the new master.
 *
 * Every PROBE_INTERVAL_MS each ready connection gets one probe; a probe not
 * answered within `timeoutMs`, or answered with a problem, drops the
 * connection and makes it again (`disconnect(true)`), which goes back to the
 * sentinels, re-resolves a DNS name, or for a Cluster refreshes the slots.
 * A probe that fails for another reason (the connection closing) is left to
 * the connection's own events.
 */
export class RedisLiveness {
  private readonly inFlight = new Set<ProbedConnection>()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly connections: readonly ProbedConnection[], private readonly timeoutMs: number, intervalMs = PROBE_INTERVAL_MS) {
    this.timer = setInterval(() => { this.tick() }, intervalMs)
    this.timer.unref()
  }

  /** Drops and remakes the connection now: a command on it timed out, which is what a probe would find. */
  stalled (connection: ProbedConnection, reason: string): void {
    if (connection.client.status !== 'ready') return
    connection.onStall(reason)
    connection.client.disconnect(true)
  }

  /** Probes a ready connection now rather than at the next round (unless one is under way). */
  probeNow (connection: ProbedConnection): void {
    if (connection.client.status !== 'ready' || this.inFlight.has(connection)) return
    this.inFlight.add(connection)
    void this.probeOnce(connection).finally(() => { this.inFlight.delete(connection) })
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private tick (): void {
    for (const connection of this.connections) this.probeNow(connection)
  }

  private async probeOnce (connection: ProbedConnection): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const silence = new Promise<string>((resolve) => {
      timer = setTimeout(() => { resolve(`no reply within ${this.timeoutMs} ms`) }, this.timeoutMs)
    })
    try {
      const problem = await Promise.race([connection.probe(), silence])
      if (problem === null) connection.onAlive()
      else this.stalled(connection, problem)
    } catch (err) {
      // ioredis's own commandTimeout may beat ours to it. Any other failure
      // (closed, reset, refused) is reported by the client's events, and it
      // reconnects by itself.
      if (isTimeout(err)) this.stalled(connection, `no reply within ${this.timeoutMs} ms`)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The rejection of a command ioredis gave up waiting for (`commandTimeout`). */
export function isTimeout (err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out'
}

/**
 * A probe that also checks the server is a master: ROLE, or PING for an ACL
 * user denied ROLE (it is in @dangerous), from its first refusal on.
 */
export function masterProbe (client: RedisClient): () => Promise<string | null> {
  let roleAllowed = true
  return async () => {
    if (roleAllowed) {
      try {
        const role = await client.call('ROLE') as unknown[]
        return role[0] === 'master' ? null : `connected to a ${String(role[0])}, not a master`
      } catch (err) {
        if (!/NOPERM|unknown command/i.test((err as Error).message)) throw err
        roleAllowed = false
      }
    }
    await client.ping()
    return null
  }
}
