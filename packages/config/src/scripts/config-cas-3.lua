--[[ config-cas
  KEYS[1] version (string: the current version, absent = 0)
  KEYS[2] current (string: the current entry, JSON)
  KEYS[3] history (list: entries, newest first)
  ARGV[1] expected version
  ARGV[2] the change's meta, JSON object (nodeId, actor, reason)
  ARGV[3] the document, JSON
  ARGV[4] how many entries the history keeps
  Returns {1, version, entry} when the change was written as version+1 (its
  time is Redis TIME), or {0, actual version} when the stored version is not
  the expected one (a concurrent change won).
]]
local actual = tonumber(redis.call('GET', KEYS[1]) or '0')
if actual ~= tonumber(ARGV[1]) then return {0, actual} end
local version = actual + 1
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Fragments of JSON made by the client, joined: no decoding (and no re-encoding) in Lua.
local entry = '{"version":' .. version .. ',"updatedAt":' .. ms .. ',"meta":' .. ARGV[2] .. ',"document":' .. ARGV[3] .. '}'
redis.call('SET', KEYS[1], version)
redis.call('SET', KEYS[2], entry)
redis.call('LPUSH', KEYS[3], entry)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
return {1, version, entry}
