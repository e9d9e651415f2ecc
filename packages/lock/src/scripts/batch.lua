-- Claim batches (inlined by the loader after bucket.lua). The cron fires one
-- claim call wins at one instant are recorded together rather than as a record
-- each (a record a fire was four fifths of a claim's Redis time): three fields
-- of the fires hash and one member of the live set.
--   '#<gid>'       node SEP instant SEP job SEP job … SEP  (the won jobs, in order)
--   '#<gid>.o'     where each job starts in that text, 3 bytes a fire (an update checks
--                  the job its token names without reading the list)
--   '#<gid>.s'     a state letter a fire, in that order: c claimed, r running while
--                  the fire is the batch's; once it leaves, d finished, t taken over
--                  or given back (then its own per-fire record says the rest)
--   '@<instant>'   the gids of that instant's batches, space-separated
--   live '#<gid>'  scored with the lease every fire of the batch shares
-- gid is the batch's first fencing token: its k-th fire's token is gid + k - 1,
-- so an owner's token alone finds its fire. A fire read by id (a takeover, a
-- record read) is found in its instant's batches by job name. A batch with no
-- fire left in it is deleted, so memory follows what is in flight.
local STATE_OF = { c = 'claimed', r = 'running' }

-- The instant of a cron fire id (`job@<digits>`) as text, or nil for other ids.
local function cron_instant(fire_id)
  local at = find(fire_id, '@', 1, true)
  if not at then return nil end
  local instant = sub(fire_id, at + 1)
  if not string.match(instant, '^%d+$') then return nil end
  return instant, sub(fire_id, 1, at - 1)
end

-- The gids of an instant's batches (numbers), from the '@<instant>' field.
local function batch_gids(fires, instant)
  local list = redis.call('HGET', fires, '@' .. instant)
  local out = {}
  if list then
    for gid in string.gmatch(list, '%d+') do out[#out + 1] = tonumber(gid) end
  end
  return out
end

local function gid_text(gid)
  return string.format('%d', gid)
end

-- Writes a new batch: `jobs` won at `instant` by `node`, all in state `letter`, leased until `expires_text`.
local function batch_write(fires, live, gid, node, instant, jobs, n, letter, expires_text)
  local g = gid_text(gid)
  local parts, offsets = { node, instant }, {}
  local at = #node + #instant + 3 -- the first job's first character
  for i = 1, n do
    local job = jobs[i]
    parts[i + 2] = job
    local low = at % 256
    local rest = (at - low) / 256
    local mid = rest % 256
    offsets[3 * i - 2] = (rest - mid) / 256
    offsets[3 * i - 1] = mid
    offsets[3 * i] = low
    at = at + #job + 1
  end
  local blob = {}
  for from = 1, 3 * n, CHUNK do blob[#blob + 1] = string.char(unpack(offsets, from, math.min(from + CHUNK - 1, 3 * n))) end
  redis.call(
    'HSET', fires,
    '#' .. g, table.concat(parts, SEP) .. SEP,
    '#' .. g .. '.o', table.concat(blob),
    '#' .. g .. '.s', string.rep(letter, n)
  )
  redis.call('ZADD', live, expires_text, '#' .. g)
  local index = '@' .. instant
  local list = redis.call('HGET', fires, index)
  redis.call('HSET', fires, index, list and (list .. ' ' .. g) or g)
end

-- The header of a batch: node, instant, and where its jobs start (the separator before the first).
local function batch_header(head)
  local a = find(head, SEP, 1, true)
  local b = find(head, SEP, a + 1, true)
  return sub(head, 1, a - 1), sub(head, a + 1, b - 1), b
end

-- Deletes a batch no fire is in any more: its fields, its lease, its place in the instant's list.
local function batch_delete(fires, live, gid, instant)
  local g = gid_text(gid)
  redis.call('HDEL', fires, '#' .. g, '#' .. g .. '.o', '#' .. g .. '.s')
  redis.call('ZREM', live, '#' .. g)
  local index = '@' .. instant
  local list = redis.call('HGET', fires, index)
  if not list then return end
  local keep = {}
  for other in string.gmatch(list, '%d+') do
    if other ~= g then keep[#keep + 1] = other end
  end
  if #keep == 0 then
    redis.call('HDEL', fires, index)
  else
    redis.call('HSET', fires, index, table.concat(keep, ' '))
  end
end

-- Whether a state string still holds a fire (claimed or running).
local function batch_holds(states)
  -- Two plain finds (memchr), not a pattern: Lua's matcher steps a character at a time.
  return find(states, 'c', 1, true) ~= nil or find(states, 'r', 1, true) ~= nil
end

-- A fire found by id in its instant's batches, while the batch holds it:
-- { gid, pos, node, instant, states, expires } or nil.
local function batch_find(fires, live, fire_id)
  local instant, job = cron_instant(fire_id)
  if not instant then return nil end
  local needle = SEP .. job .. SEP
  for _, gid in ipairs(batch_gids(fires, instant)) do
    local g = gid_text(gid)
    local got = redis.call('HMGET', fires, '#' .. g, '#' .. g .. '.s')
    local head, states = got[1], got[2]
    if head and states then
      local node, _, jobs_from = batch_header(head)
      local at = find(head, needle, jobs_from, true)
      if at then
        -- Its position: the separators from the jobs' start up to it.
        local _, pos = string.gsub(sub(head, jobs_from, at), SEP, '')
        local letter = sub(states, pos, pos)
        if letter == 'c' or letter == 'r' then
          local score = redis.call('ZSCORE', live, '#' .. g)
          return {
            gid = gid,
            pos = pos,
            node = node,
            instant = instant,
            states = states,
            state = STATE_OF[letter],
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
local function batch_leave(fires, live, b, letter)
  local states = sub(b.states, 1, b.pos - 1) .. letter .. sub(b.states, b.pos + 1)
  if batch_holds(states) then
    redis.call('HSET', fires, '#' .. gid_text(b.gid) .. '.s', states)
  else
    batch_delete(fires, live, b.gid, b.instant)
  end
end

-- A found fire as a packed record (see pack), for readers of records by id.
local function batch_record(b)
  return pack(b.state, b.node, b.fencing, ms_string(b.expires), '')
end
