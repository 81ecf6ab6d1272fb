import type { IpcPeer } from '../ipc/ipc-peer.js'
import type { AuditEntry, SharedState, StateStore } from './types.js'
import { IPC_STATE, type StateReply } from './ipc-store.js'

interface CasParams { expected: number, next: SharedState }

/** Thrown inside the store's update to abort a compare-and-set that lost; carries the state that won. */
class Conflict extends Error {
  constructor (readonly current: SharedState) { super('version conflict') }
}

/**
 * The cluster primary's side of IpcStore: it owns the embedded store (memory
 * or state file) and serves the workers' calls from it. The store applies
 * updates one at a time, so a compare-and-set checked inside its update is
 * atomic across workers. Every commit is pushed to every attached worker
 * before the writer's reply is sent (one channel keeps its order).
 */
export class IpcStateRelay {
  private readonly peers = new Set<IpcPeer>()
  private readonly unsubscribe: () => void

  constructor (private readonly store: StateStore) {
    this.unsubscribe = store.subscribe((state) => {
      for (const peer of this.peers) peer.push(IPC_STATE.pushTopic, state)
    })
  }

  /** Creates the initial state (persisting it with a state file) before any worker asks. */
  async load (): Promise<SharedState> {
    return await this.store.load()
  }

  /** Serves one worker's channel until detach (its exit). */
  attach (peer: IpcPeer): void {
    this.peers.add(peer)
    peer.handle(IPC_STATE.load, async () => this.reply(await this.store.load()))
    peer.handle(IPC_STATE.cas, async (params) => await this.cas(params as CasParams))
    peer.handle(IPC_STATE.appendAudit, async (entry) => { await this.store.appendAudit(entry as AuditEntry) })
    peer.handle(IPC_STATE.listAudit, async (limit) => await this.store.listAudit(Number(limit)))
  }

  detach (peer: IpcPeer): void {
    this.peers.delete(peer)
  }

  async close (): Promise<void> {
    this.unsubscribe()
    this.peers.clear()
    await this.store.close()
  }

  private async cas ({ expected, next }: CasParams): Promise<StateReply> {
    try {
      const committed = await this.store.update((draft) => {
        if (draft.version !== expected) throw new Conflict(draft)
        return next
      })
      return { ...this.reply(committed), written: true }
    } catch (err) {
      if (err instanceof Conflict) return { ...this.reply(err.current), written: false }
      throw err
    }
  }

  private reply (state: SharedState): StateReply {
    return { state, health: this.store.health() }
  }
}
