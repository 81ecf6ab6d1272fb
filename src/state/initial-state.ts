import { randomBytes } from 'node:crypto'
import { emptyDict } from './dict.js'
import { defaultMaintenance, type SharedState } from './types.js'

/**
 * The document a store creates on its first load. Version 0, so the first
 * write makes it 1. The signing key is random and kept in the store, so every
 * replica sharing the store signs bypass cookies with the same key and the
 * cookies survive restarts (a configured `signingKey` takes precedence where
 * cookies are signed; it is never copied into the store).
 */
export function initialState (): SharedState {
  return {
    version: 0,
    maintenance: defaultMaintenance(),
    flags: emptyDict(),
    overrides: emptyDict(),
    signingKey: randomBytes(32).toString('hex')
  }
}
