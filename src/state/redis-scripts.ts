/**
 * Lua run atomically inside Redis. The state document lives under KEYS[1] and
 * its version, duplicated, under KEYS[2] so a resync can compare versions with
 * one cheap GET. Both are always written together, and the PUBLISH happens in
 * the same script, so no replica can miss a write that committed because the
 * writer died between the write and the publish (resync would heal it anyway).
 * What is published is the new version, not the document: replicas fetch it
 * (see RedisStore.onMessage).
 */
export interface LuaScript {
  /** The command name ioredis's defineCommand gives it (EVALSHA, falling back to EVAL on NOSCRIPT). */
  name: string
  keys: number
  lua: string
}

function script (name: string, keys: number, lua: string): LuaScript {
  return { name, keys, lua }
}

/** The stored version: the version key, or the document's own field if that key was lost. */
const STORED_VERSION = `
local doc = redis.call('GET', KEYS[1])
local stored = nil
if doc then
  stored = tonumber(redis.call('GET', KEYS[2]) or cjson.decode(doc).version)
end
`

/**
 * Compare-and-set. ARGV: expected version, new document, new version, channel.
 * Returns 1 when written, 0 when another writer got there first.
 */
export const CAS = script('drawbridgeCas', 2, STORED_VERSION + `
if stored ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1
`)

/**
 * Writes the document only if Redis holds none or an older one: creates the
 * first document, and lets a replica restore the newest state it saw after
 * Redis lost its data. ARGV: document, version, channel. Returns the document
 * Redis holds afterwards.
 */
export const PUT_IF_NEWER = script('drawbridgePutIfNewer', 2, STORED_VERSION + `
if stored ~= nil and stored >= tonumber(ARGV[2]) then return doc end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return ARGV[1]
`)

/**
 * Pushes an audit entry and trims the log to both budgets, oldest first; the
 * newest entry always stays. KEYS: the list, a counter of its bytes. ARGV:
 * entry JSON, most entries, most bytes. The counter starts at zero under a
 * log written before it existed, so it can only undercount; it is clamped at 0.
 */
export const AUDIT_PUSH = script('drawbridgeAuditPush', 2, `
redis.call('LPUSH', KEYS[1], ARGV[1])
local total = redis.call('INCRBY', KEYS[2], string.len(ARGV[1]))
local n = redis.call('LLEN', KEYS[1])
while n > 1 and (n > tonumber(ARGV[2]) or total > tonumber(ARGV[3])) do
  local old = redis.call('RPOP', KEYS[1])
  total = redis.call('INCRBY', KEYS[2], -string.len(old))
  n = n - 1
end
if total < 0 then redis.call('SET', KEYS[2], 0) end
return n
`)

export const SCRIPTS: readonly LuaScript[] = [CAS, PUT_IF_NEWER, AUDIT_PUSH]
