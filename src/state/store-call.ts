import { errors, isDrawbridgeError } from '../errors.js'

/**
 * Runs a store operation for an admin request. A rejection that is not one of
 * ours (a validation error thrown inside `update`'s mutate, say) means the store
 * could not be reached or refused the write: the client gets a 503 and knows
 * nothing was changed.
 */
export async function storeCall<T> (operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    if (isDrawbridgeError(err)) throw err
    throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE((err as Error).message, { cause: err })
  }
}
