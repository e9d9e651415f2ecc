--[[ update-fires
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] done zset
  KEYS[4] batches index (batch.lua)
  ARGV    groups of updates that share an operation (several fires of one bucket in one call):
          operation (start | renew | finish | release), ms (lease ttl for renew, retention
          for finish; unused by start and release), final status (finish; '' otherwise),
          count, then `count` pairs: fire id, owner (`node SEP fencing`, as in the record);
          or, for a run of fires with consecutive tokens (a client sends the fires of one
          claim batch so), their ids joined by SEP and the first fire's owner
  A finish with ms 0 deletes the record at once (nothing kept: its claim's mark guards it).
  Returns a string, one digit per update in the order sent: 1 when the record was
  ours and changed, else 0. A record is ours while its owner matches and (but for
  finish) its lease has not lapsed.
  A fire still in its claim batch (batch.lua) is found by its instant and token,
  with no record read: start, finish and release change its letter, a renewal
  the batch's lease. One that leaves its batch with a record of its own (finished
  with a retention, given back) gets that record here. A run found whole in its
  batch, in order, every fire still in it, is started, renewed or finished (with no
  retention) as one: its ids checked against the batch's text in one comparison, its
  letters changed as one span. Anything else in a run goes fire by fire.
]]
--! include bucket.lua
--! include batch.lua
local fires, live, done, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local OPS = { start = true, renew = true, finish = true, release = true }
-- The batches this call's fires are in, each read once:
-- { gid, instant, node, n, orig (the letters read), states (as this call left them, but for the
-- changes in `changed`), head, offsets, changed (position -> letter), positions, lease (read when
-- needed), renew_to }.
local byte, char = string.byte, string.char
local BYTE_C, BYTE_R, BYTE_D, BYTE_T, SEP_BYTE = byte('c'), byte('r'), byte('d'), byte('t'), byte(SEP)
local read_batches, by_gid, touched = {}, {}, {}
-- Reads the batch that may hold a cron fire's token from the index (the last of the fire's
-- instant at or before the token); nil for another kind of fire id or when there is none.
local function batch_read(fire_id, fencing)
  local instant = cron_instant(fire_id)
  if not instant then return nil end
  local gid = batch_at(batches, instant, fencing)
  if not gid then return nil end
  local b = by_gid[gid]
  if b then return b end
  local g = gid_text(gid)
  local got = redis.call('HMGET', fires, '#' .. g, '#' .. g .. '.s', '#' .. g .. '.o')
  if not (got[1] and got[2] and got[3]) then return nil end
  local states = got[2]
  local node = batch_header(got[1])
  b = {
    gid = gid,
    instant = instant,
    node = node,
    node_end = #node + 1,
    n = #states,
    orig = states,
    states = states,
    head = got[1],
    offsets = got[3],
  }
  read_batches[#read_batches + 1] = b
  by_gid[gid] = b
  return b
end
-- A fire's state letter (a byte) in its batch, as this call left it.
local function letter_at(b, pos)
  local changed = b.changed
  return changed and changed[pos] or byte(b.states, pos)
end
-- Changes a letter; the batch's state text is rewritten once, at the end of the call (or when a run
-- changes a span of it: see update_run).
local function set_letter(b, pos, letter)
  local changed = b.changed
  if not changed then
    changed = {}
    b.changed, b.positions = changed, {}
    touched[b] = true
  end
  if not changed[pos] then b.positions[#b.positions + 1] = pos end
  changed[pos] = letter
end
-- The batch's state text with this call's changes: the unchanged runs copied as they are.
local function letters_after(b)
  local positions, changed, states = b.positions, b.changed, b.states
  table.sort(positions)
  local parts, from = {}, 1
  for _, pos in ipairs(positions) do
    parts[#parts + 1] = sub(states, from, pos - 1)
    parts[#parts + 1] = char(changed[pos])
    from = pos + 1
  end
  parts[#parts + 1] = sub(states, from)
  return table.concat(parts)
end

-- Where the id of the fire at `pos` starts in the batch's text.
local function id_at(b, pos)
  local o1, o2, o3 = byte(b.offsets, 3 * pos - 2, 3 * pos)
  return o1 * 65536 + o2 * 256 + o3
end

-- The batch and position of a fire by its id and owner (`node SEP fencing`), or nil. It runs
-- for every fire of the call, so it calls as few string functions as it can: tokens are unique in
-- the bucket, so a token within a batch's range names that batch's fire (the fire id must match).
local last -- the batch of the previous fire: a call's fires mostly come in runs of one batch
local function batch_of(fire_id, owner)
  local s = find(owner, SEP, 1, true)
  if not s then return nil end
  local fencing = tonumber(sub(owner, s + 1))
  if not fencing then return nil end
  local b = last
  if not (b and fencing >= b.gid and fencing < b.gid + b.n) then
    b = nil
    -- The few batches read so far; past those, the index.
    if #read_batches <= 8 then
      for i = 1, #read_batches do
        local r = read_batches[i]
        if fencing >= r.gid and fencing < r.gid + r.n then
          b = r
          break
        end
      end
    end
    if not b then
      b = batch_read(fire_id, fencing)
      if not (b and fencing < b.gid + b.n) then return nil end
    end
    last = b
  end
  local pos = fencing - b.gid + 1
  -- A token is only taken with the fire id it was given for, in place: the fire id at its
  -- position, then a separator; and its node.
  local from = id_at(b, pos)
  if
    find(b.head, fire_id, from, true) == from
    and byte(b.head, from + #fire_id) == SEP_BYTE
    and s == b.node_end
    and find(owner, b.node, 1, true) == 1
  then
    return b, pos
  end
  return nil
end
local function batch_alive(b)
  if b.lease == nil then
    local score = redis.call('ZSCORE', live, '#' .. gid_text(b.gid))
    b.lease = score and tonumber(score) or 0
  end
  return b.lease > NOW
end

local latest = {} -- fire id -> record after an earlier update of this call
-- Applied in this order, so a fire updated twice ends as its last update left it.
local writes, still_live, finished, now_done, dropped = {}, {}, {}, {}, {}
-- Their lengths, kept by hand: `#t` searches for the border on every use.
local n_writes, n_live, n_finished, n_done, n_dropped = 0, 0, 0, 0, 0

-- A finished fire's record, kept until `until_text`: its entry in the done set, and its text.
local function kept_done(fire_id, owner, until_text, final_status)
  now_done[n_done + 1] = until_text
  now_done[n_done + 2] = fire_id
  n_done = n_done + 2
  return 'done' .. SEP .. owner .. SEP .. until_text .. SEP .. final_status
end

-- A record left live (given back, renewed): its new lease in the live set.
local function keep_live(expires_text, fire_id)
  still_live[n_live + 1] = expires_text
  still_live[n_live + 2] = fire_id
  n_live = n_live + 2
end

-- A batch renewed: its lease moved to `NOW + ms` (at the end of the call), never back.
local function renew_batch(b, ms)
  if (b.renew_to or 0) < NOW + ms then b.renew_to = NOW + ms end
  touched[b] = true
end

local DONE, CLAIMED = BYTE_D, BYTE_C
local OWNER_AT = 9 -- after a live state of 7 letters and its separator

-- One update of one fire; true when it was ours and changed. `b, pos`: the batch and position its
-- token names, when it names one (checked); `stored`: its record as read at the call's start,
-- false when there is none to read (the fire was in its batch), nil when not read yet.
local function update_one(op, ms, final_status, until_text, fire_id, owner, b, pos, stored)
  local rec, ok = nil, false
  local finishing = op == 'finish'
  local letter = b and letter_at(b, pos)
  if letter == BYTE_C or letter == BYTE_R then
    -- Still in its batch (an earlier update of this call may have taken it out: then below).
    if finishing then
      ok = true
      set_letter(b, pos, BYTE_D)
      if until_text then rec = kept_done(fire_id, owner, until_text, final_status) end
      -- Finished with no retention: its letter says so to a later update of this call.
    elseif batch_alive(b) then
      if op == 'start' then
        if letter == BYTE_C then
          ok = true
          set_letter(b, pos, BYTE_R)
        end
      elseif op == 'renew' then
        ok = true
        renew_batch(b, ms)
      else
        -- Given back unstarted: out of the batch, claimable by anyone now under a record of its own.
        set_letter(b, pos, BYTE_T)
        local now_text = ms_string(NOW)
        rec = 'claimed' .. SEP .. owner .. SEP .. now_text .. SEP
        keep_live(now_text, fire_id)
      end
    end
  else
    -- An earlier update of this call wins over what was read; false: it deleted the record.
    -- (A fire that left its batch in this call always has one: the batch branch set it.)
    local s = latest[fire_id]
    if s == nil then s = stored end
    if s == nil then s = redis.call('HGET', fires, fire_id) end
    if s then
      -- Fields by position: state SEP node SEP fencing SEP expires SEP status. A live state
      -- ('claimed', 'running') is 7 letters, so the owner (`node SEP fencing`) starts at 9 and is
      -- matched in place, then followed by a separator: no substring made and no separator
      -- searched for but the one after the expiry, which only a lease update reads.
      local c = OWNER_AT + #owner -- the separator after the owner
      if byte(s, 1) ~= DONE and find(s, owner, OWNER_AT, true) == OWNER_AT and byte(s, c) == SEP_BYTE then
        if finishing then
          ok = true
          n_finished = n_finished + 1
          finished[n_finished] = fire_id
          if until_text then
            rec = kept_done(fire_id, owner, until_text, final_status)
          else
            latest[fire_id] = false
            n_dropped = n_dropped + 1
            dropped[n_dropped] = fire_id
          end
        else
          local d = find(s, SEP, c + 1, true)
          local alive = tonumber(sub(s, c + 1, d - 1)) > NOW
          if op == 'start' then
            -- claimed -> running under the lease it has: the node's watchdog renews a fire's lease
            -- from its admission on, so the start moves neither the expiry nor the live set's score.
            if alive and byte(s, 1) == CLAIMED then rec = 'running' .. sub(s, OWNER_AT - 1) end
          elseif alive then
            local expires_text
            if op == 'release' then
              -- Given back unstarted (also a fire written running at its claim): claimable by anyone now.
              expires_text = ms_string(NOW)
              rec = 'claimed' .. sub(s, OWNER_AT - 1, c) .. expires_text .. sub(s, d)
            else
              -- A renewal keeps the state and owner as they are: only the expiry changes.
              expires_text = ms_string(NOW + ms)
              rec = sub(s, 1, c) .. expires_text .. sub(s, d)
            end
            keep_live(expires_text, fire_id)
          end
        end
      end
    end
  end
  if rec then
    ok = true
    latest[fire_id] = rec
    writes[n_writes + 1] = fire_id
    writes[n_writes + 2] = rec
    n_writes = n_writes + 2
  end
  return ok
end

-- Runs: fires with consecutive tokens sent as one (their ids joined by SEP, the first one's owner).
-- One is kept whole (run_len) when it lies in its batch as sent: its first fire found by token
-- and id, then its whole text compared in place, so every fire's id is checked at its token's
-- position. Only a start, a renewal or a finish with no retention can go whole.
local run_len = {}
local groups, ids, owners, n, n_fires = {}, {}, {}, 0, 0
local in_batch, pos_of = {}, {}
local format, rep = string.format, string.rep
-- A run's fire ids, one a separator-delimited part (an empty part too: then an id no fire has).
local function run_ids(joined)
  local list, from = {}, 1
  while true do
    local at = find(joined, SEP, from, true)
    if not at then
      list[#list + 1] = sub(joined, from)
      return list
    end
    list[#list + 1] = sub(joined, from, at - 1)
    from = at + 1
  end
end
-- How many ids a run joins, and where its first separator is: the separators counted with plain
-- finds (gsub's matcher steps a character at a time and copies the text: 2.5 times the cost).
local function run_count(joined)
  local first = find(joined, SEP, 1, true)
  local count, at = 1, first
  while at do
    count = count + 1
    at = find(joined, SEP, at + 1, true)
  end
  return count, first
end
local function add_run(op, ms, joined, owner)
  local count, first_sep = run_count(joined)
  if op ~= 'release' and not (op == 'finish' and ms > 0) then
    local b, pos = batch_of(sub(joined, 1, (first_sep or #joined + 1) - 1), owner)
    if b and pos + count - 1 > b.n then
      -- The run goes on past its batch's last fire (consecutive claim batches of a node have
      -- consecutive tokens, and its client joins them): the part in this batch, then the rest,
      -- each a run of its own, so that each can still go whole.
      -- The rest starts at the token after the batch's last: its owner is the batch's node with it.
      local at = first_sep
      for _ = 2, b.n - pos + 1 do
        at = find(joined, SEP, at + 1, true)
      end
      add_run(op, ms, sub(joined, 1, at - 1), owner)
      add_run(op, ms, sub(joined, at + 1), b.node .. SEP .. format('%d', b.gid + b.n))
      return
    end
    if b then
      local from = id_at(b, pos)
      local to = from + #joined -- the separator after the run's last id
      if sub(b.head, from, to - 1) == joined and byte(b.head, to) == SEP_BYTE then
        n = n + 1
        n_fires = n_fires + count
        ids[n], owners[n], run_len[n], in_batch[n], pos_of[n] = joined, owner, count, b, pos
        return
      end
    end
  end
  n_fires = n_fires + count
  -- Fire by fire: the owners of the rest from the first one's token.
  local s = find(owner, SEP, 1, true)
  local fencing = s and tonumber(sub(owner, s + 1))
  local node = s and sub(owner, 1, s)
  for i, fire_id in ipairs(run_ids(joined)) do
    n = n + 1
    ids[n] = fire_id
    owners[n] = fencing and node .. format('%d', fencing + i - 1) or owner
  end
end

local i, argc = 1, #ARGV
while i <= argc do
  local op, ms, count = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 3])
  if not OPS[op] then return redis.error_reply('update-fires: unknown operation ' .. tostring(op)) end
  local first = n + 1
  for j = i + 4, i + 2 + 2 * count, 2 do
    local id = ARGV[j]
    if find(id, SEP, 1, true) then
      add_run(op, ms, id, ARGV[j + 1])
    else
      n = n + 1
      n_fires = n_fires + 1
      ids[n] = id
      owners[n] = ARGV[j + 1]
    end
  end
  groups[#groups + 1] = { op, ms, ARGV[i + 2], first, n }
  i = i + 4 + 2 * count
end
-- The purge of finished records rides on updates (off the claims' critical path),
-- up to twice each batch, so it outpaces the finishing.
purge_done(fires, done, 64 + 2 * n_fires)

-- Single fires held by a batch are updated there; the others' records are read in one HMGET.
local record_ids, record_at = {}, {}
for k = 1, n do
  if not run_len[k] then
    local b, pos = batch_of(ids[k], owners[k])
    local letter = b and letter_at(b, pos)
    if letter == BYTE_C or letter == BYTE_R then
      in_batch[k], pos_of[k] = b, pos
    else
      record_ids[#record_ids + 1] = ids[k]
      record_at[k] = #record_ids
    end
  end
end
local read = hmget_chunked(fires, record_ids)

-- A run kept whole: its letters, as this call left them, must all be ones the update takes as a
-- single would (claimed or running; claimed for a start): then one span changes and every fire
-- answers alike. Otherwise its fires go one by one, each as a single would.
local function update_run(op, ms, final_status, until_text, k, count)
  local b, pos = in_batch[k], pos_of[k]
  if b.changed then
    -- Singles changed letters of this batch earlier in the call: those become the text a span changes.
    b.states, b.changed, b.positions = letters_after(b), nil, nil
  end
  local last_pos = pos + count - 1
  local span = sub(b.states, pos, last_pos)
  local whole = not find(span, 'd', 1, true) and not find(span, 't', 1, true)
  if whole and op == 'start' then whole = not find(span, 'r', 1, true) end
  if whole then
    local letter
    if op == 'finish' then
      letter = 'd'
    elseif not batch_alive(b) then
      return rep('0', count)
    elseif op == 'start' then
      letter = 'r'
    else
      renew_batch(b, ms)
      return rep('1', count)
    end
    b.states = sub(b.states, 1, pos - 1) .. rep(letter, count) .. sub(b.states, last_pos + 1)
    touched[b] = true
    return rep('1', count)
  end
  local node, first = b.node .. SEP, b.gid + pos - 1
  local answers = {}
  for j, fire_id in ipairs(run_ids(ids[k])) do
    local owner = node .. format('%d', first + j - 1)
    answers[j] = update_one(op, ms, final_status, until_text, fire_id, owner, b, pos + j - 1, nil) and '1' or '0'
  end
  return table.concat(answers)
end

local out = {}
for g = 1, #groups do
  local op, ms, final_status, from, to = unpack(groups[g])
  -- A finish's retention as text, once a group (scores handed to redis.call as numbers are formatted a fire).
  local until_text = op == 'finish' and ms > 0 and ms_string(NOW + ms)
  for k = from, to do
    local count = run_len[k]
    if count then
      out[k] = update_run(op, ms, final_status, until_text, k, count)
    else
      local at = record_at[k]
      local stored = false
      if at then stored = read[at] end
      out[k] = update_one(op, ms, final_status, until_text, ids[k], owners[k], in_batch[k], pos_of[k], stored) and '1'
        or '0'
    end
  end
end
-- The batches this call changed: their letters written back, a lease renewed, an emptied one deleted.
for b in pairs(touched) do
  local states = b.changed and letters_after(b) or b.states
  if batch_holds(states) then
    local g = gid_text(b.gid)
    if states ~= b.orig then redis.call('HSET', fires, '#' .. g .. '.s', states) end
    if b.renew_to then redis.call('ZADD', live, ms_string(b.renew_to), '#' .. g) end
  else
    batch_delete(fires, live, batches, b.gid, b.instant)
  end
end
call_chunked('HSET', fires, writes)
call_chunked('ZADD', live, still_live)
call_chunked('ZREM', live, finished)
call_chunked('ZADD', done, now_done)
-- After the writes: a record written and then deleted in this call ends deleted.
call_chunked('HDEL', fires, dropped)
return table.concat(out)
