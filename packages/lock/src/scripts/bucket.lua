-- Shared by every bucket script (inlined by the loader). The store's own TIME
-- judges every lease; the epoch makes fencing tokens monotonic across data loss.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local SEP = '\031'
local COUNTER_SPAN = 1048576 -- 2^20

-- A missing epoch means a fresh namespace or lost data (restart without
-- persistence, FLUSHALL): start a new epoch at TIME seconds (or past the
-- highest epoch the caller has seen, so tokens grow even when data is lost
-- within the second it was created), and a floor at TIME ms. A job with no
-- mark may not win an instant at or before the floor: it may have run before
-- the data was lost.
local function ensure_epoch(meta, min_epoch)
  if redis.call('HEXISTS', meta, 'epoch') == 1 then return false end
  local epoch = math.max(math.floor(NOW / 1000), tonumber(min_epoch) or 0)
  redis.call('HSET', meta, 'epoch', string.format('%d', epoch), 'ctr', 0, 'floor', NOW)
  return true
end

local function next_fencing(meta)
  local ctr = redis.call('HINCRBY', meta, 'ctr', 1)
  local epoch = tonumber(redis.call('HGET', meta, 'epoch'))
  if ctr >= COUNTER_SPAN then
    epoch = epoch + 1
    ctr = 1
    redis.call('HSET', meta, 'epoch', epoch, 'ctr', 1)
  end
  return epoch * COUNTER_SPAN + ctr
end

-- A fire record: state, node id, fencing token, expiresAt, final status. The
-- owner token is `<node>:<fencing>` and the job the fire id's prefix, so
-- neither is stored. `fencing` stays a string (exact digits).
local function pack(state, node, fencing, expires, status)
  return state .. SEP .. node .. SEP .. fencing .. SEP .. expires .. SEP .. status
end

-- Expiry instants as exact digits, formatted once per distinct value in a call.
local ms_text = {}
local function ms_string(ms)
  local text = ms_text[ms]
  if not text then
    text = string.format('%d', ms)
    ms_text[ms] = text
  end
  return text
end

-- Split at the four separators with plain finds (cheaper than one pattern match).
local find, sub = string.find, string.sub
-- The positions of a record's four separators.
local function record_seps(s)
  local a = find(s, SEP, 1, true)
  local b = find(s, SEP, a + 1, true)
  local c = find(s, SEP, b + 1, true)
  return a, b, c, find(s, SEP, c + 1, true)
end

local function unpack_record(s)
  local a, b, c, d = record_seps(s)
  return {
    state = sub(s, 1, a - 1),
    node = sub(s, a + 1, b - 1),
    fencing = sub(s, b + 1, c - 1),
    expires = tonumber(sub(s, c + 1, d - 1)),
    status = sub(s, d + 1),
  }
end

local function pack_record(rec)
  return pack(rec.state, rec.node, rec.fencing, ms_string(rec.expires), rec.status)
end

local function token_of(rec)
  return rec.node .. ':' .. rec.fencing
end

-- The marks hash holds, besides a field a job, one no job name can have (they start
-- with a letter or digit) whose value is longer than Redis's hash-max-listpack-value
-- (64 by default): Redis then keeps the hash a hashtable for good, where a small hash
-- would be a listpack, whose HMGET and HSET of n jobs cost O(n²) — a claim of 100
-- jobs spent 40 µs on each, against 5 as a hashtable. The claim writes it when missing.
local MARKS_ENCODING_FIELD = '#encoding'
local MARKS_ENCODING_VALUE =
  'hashtable: kept so by @sched/lock, as an HMGET or HSET of many marks of a listpack is O(n^2)'

-- Variadic commands over long lists, in chunks below Lua's unpack limit.
local CHUNK = 4000
local function call_chunked(cmd, key, list)
  for i = 1, #list, CHUNK do
    redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
  end
end

local function hmget_chunked(key, fields)
  local n_fields = #fields
  -- One chunk (the usual call): its answer as it is, not copied.
  if n_fields <= CHUNK then
    if n_fields == 0 then return {} end
    return redis.call('HMGET', key, unpack(fields))
  end
  local out, n = {}, 0
  for i = 1, n_fields, CHUNK do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + CHUNK - 1, n_fields)))
    for j = 1, #part do out[n + j] = part[j] end
    n = n + #part
  end
  return out
end

-- Finished records past their retention go, up to `limit` per call (an update
-- batch passes twice its size, so purging outpaces finishing), so memory follows
-- what is in flight rather than history.
local function purge_done(fires, done, limit)
  local old = redis.call('ZRANGEBYSCORE', done, '-inf', NOW, 'LIMIT', 0, limit)
  if #old > 0 then
    call_chunked('HDEL', fires, old)
    -- They are the set's first #old by rank (lowest scores, read just above): cheaper by rank than by name.
    redis.call('ZREMRANGEBYRANK', done, 0, #old - 1)
  end
end
