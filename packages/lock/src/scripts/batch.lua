-- Claim batches (inlined by the loader after bucket.lua). The cron fires one
-- claim call wins at one instant are recorded together rather than as a record
-- each (a record a fire was four fifths of a claim's Redis time): three fields
-- of the fires hash, one member of the live set and one of the batches index.
--   '#<gid>'       node SEP instant SEP fire id SEP fire id … SEP  (the won fires, in order)
--   '#<gid>.o'     where each fire id starts in that text, 3 bytes a fire (an update checks
--                  the fire its token names in place, without reading the list)
--   '#<gid>.s'     a state letter a fire, in that order: c claimed, r running while
--                  the fire is the batch's; once it leaves, d finished, t taken over
--                  or given back (then its own per-fire record says the rest)
--   live '#<gid>'  scored with the lease every fire of the batch shares
--   batches '<instant>:<gid, 17 digits>'  every member scored 0, so in that order: the
--                  batch that may hold a token is the last member at or before
--                  '<instant>:<token>', and an instant's batches are one range
-- gid is the batch's first fencing token: its k-th fire's token is gid + k - 1,
-- so an owner's token finds its fire. A fire read by id (a takeover, a record
-- read) is found in its instant's batches by its id. A batch with no fire
-- left in it is deleted, so memory follows what is in flight.
local STATE_OF = { c = 'claimed', r = 'running' }

-- The instant of a cron fire id (`job@<digits>`) as text, or nil for other ids.
local function cron_instant(fire_id)
  local at = find(fire_id, '@', 1, true)
  if not at then return nil end
  local instant = sub(fire_id, at + 1)
  if not string.match(instant, '^%d+$') then return nil end
  return instant
end

local GID_WIDTH = '%017d' -- fencing tokens stay below 2^53 (16 digits)
local function batch_member(instant, gid)
  return instant .. ':' .. string.format(GID_WIDTH, gid)
end

-- The gids of an instant's batches (numbers).
local function batch_gids(batches, instant)
  local members = redis.call('ZRANGEBYLEX', batches, '[' .. instant .. ':', '(' .. instant .. ';')
  local from = #instant + 2
  for i = 1, #members do members[i] = tonumber(sub(members[i], from)) end
  return members
end

-- The gid of the instant's batch that may hold `fencing` (the last at or before it), or nil.
local function batch_at(batches, instant, fencing)
  local m = redis.call('ZREVRANGEBYLEX', batches, '[' .. batch_member(instant, fencing), '[' .. instant .. ':', 'LIMIT', 0, 1)
  return m[1] and tonumber(sub(m[1], #instant + 2)) or nil
end

local function gid_text(gid)
  return string.format('%d', gid)
end

-- Writes a new batch: `jobs` won at `instant` by `node`, all in state `letter`, leased until `expires_text`.
local function batch_write(fires, live, batches, gid, node, instant, jobs, n, letter, expires_text)
  local g = gid_text(gid)
  -- The text: the job names joined by '@instant' SEP in one concat (no string or piece made a fire).
  local suffix = '@' .. instant
  local between = suffix .. SEP
  local head = node .. SEP .. instant .. SEP .. table.concat(jobs, between, 1, n) .. between
  local offsets = {}
  local at = #node + #instant + 3 -- the first fire id's first character
  local step = #between
  for i = 1, n do
    local job = jobs[i]
    local low = at % 256
    local rest = (at - low) / 256
    local mid = rest % 256
    offsets[3 * i - 2] = (rest - mid) / 256
    offsets[3 * i - 1] = mid
    offsets[3 * i] = low
    at = at + #job + step
  end
  local blob = {}
  for from = 1, 3 * n, CHUNK do blob[#blob + 1] = string.char(unpack(offsets, from, math.min(from + CHUNK - 1, 3 * n))) end
  redis.call(
    'HSET', fires,
    '#' .. g, head,
    '#' .. g .. '.o', table.concat(blob),
    '#' .. g .. '.s', string.rep(letter, n)
  )
  redis.call('ZADD', live, expires_text, '#' .. g)
  redis.call('ZADD', batches, 0, batch_member(instant, gid))
end

-- The header of a batch: node, instant, and where its fires start (the separator before the first).
local function batch_header(head)
  local a = find(head, SEP, 1, true)
  local b = find(head, SEP, a + 1, true)
  return sub(head, 1, a - 1), sub(head, a + 1, b - 1), b
end

-- Deletes a batch no fire is in any more: its fields, its lease, its place in the index.
local function batch_delete(fires, live, batches, gid, instant)
  local g = gid_text(gid)
  redis.call('HDEL', fires, '#' .. g, '#' .. g .. '.o', '#' .. g .. '.s')
  redis.call('ZREM', live, '#' .. g)
  redis.call('ZREM', batches, batch_member(instant, gid))
end

-- Whether a state string still holds a fire (claimed or running).
local function batch_holds(states)
  -- Two plain finds (memchr), not a pattern: Lua's matcher steps a character at a time.
  return find(states, 'c', 1, true) ~= nil or find(states, 'r', 1, true) ~= nil
end

-- A fire found by id in its instant's batches, while the batch holds it:
-- { gid, pos, node, instant, states, expires } or nil.
local function batch_find(fires, live, batches, fire_id)
  local instant = cron_instant(fire_id)
  if not instant then return nil end
  local needle = SEP .. fire_id .. SEP
  for _, gid in ipairs(batch_gids(batches, instant)) do
    local g = gid_text(gid)
    local got = redis.call('HMGET', fires, '#' .. g, '#' .. g .. '.s')
    local head, states = got[1], got[2]
    if head and states then
      local node, _, fires_from = batch_header(head)
      local at = find(head, needle, fires_from, true)
      if at then
        -- Its position: the separators from the fires' start up to it.
        local _, pos = string.gsub(sub(head, fires_from, at), SEP, '')
        local state = STATE_OF[sub(states, pos, pos)]
        if state then
          local score = redis.call('ZSCORE', live, '#' .. g)
          return {
            gid = gid,
            pos = pos,
            node = node,
            instant = instant,
            states = states,
            state = state,
            fencing = gid_text(gid + pos - 1),
            expires = score and tonumber(score) or 0,
          }
        end
        return nil
      end
    end
  end
  return nil
end

-- Takes a found fire out of its batch (`letter`: d finished, t taken over or given back),
-- deleting the batch when it was the last fire in it.
local function batch_leave(fires, live, batches, b, letter)
  local states = sub(b.states, 1, b.pos - 1) .. letter .. sub(b.states, b.pos + 1)
  if batch_holds(states) then
    redis.call('HSET', fires, '#' .. gid_text(b.gid) .. '.s', states)
  else
    batch_delete(fires, live, batches, b.gid, b.instant)
  end
end

-- A found fire as a packed record (see pack), for readers of records by id.
local function batch_record(b)
  return pack(b.state, b.node, b.fencing, ms_string(b.expires), '')
end
