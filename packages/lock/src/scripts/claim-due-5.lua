--[[ claim-due
  KEYS[1] meta hash of the bucket (epoch, ctr, floor)
  KEYS[2] marks hash: jobName -> last claimed instant (ms)
  KEYS[3] fires hash: fireId -> packed record
  KEYS[4] live zset: fireId -> lease expiry, for claimed and running records
  KEYS[5] done zset: fireId -> retention expiry
  ARGV[1] node id
  ARGV[2] lease ttl ms
  ARGV[3] lowest epoch to start if the bucket must be initialised (the caller's highest seen + 1)
  ARGV[4..] groups of fires that share an instant, a previous instant and flags:
            instant, prevInstant ('' when none), flags (1 = write the records running:
            the caller starts them at once; 2 = a retry of a claim that got no answer;
            3 = both), count, then `count` job names
  Returns { codes, fencings, gaps }:
    codes    a string, one digit per fire in the order sent: 1 won, 0 lost, 2 lost to
             data loss, 3 won by this node's earlier call and still claimed, 4 the same
             but written running
    fencings the fencing token of each fire coded 1, 3 or 4, in order
    gaps     pairs (fire position from 1, the mark it moved from) for won fires
             whose job's mark was behind the previous instant
  A fire is won only if its instant is later than the job's mark; winning
  moves the mark and writes a record under the winner's lease. The loop does
  as little per fire as it can: it is the cost of every cron fire.
]]
--! include bucket.lua
local meta, marks, fires, live, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local node, ttl = ARGV[1], tonumber(ARGV[2])
ensure_epoch(meta, ARGV[3])
local m = redis.call('HMGET', meta, 'epoch', 'ctr', 'floor')
local epoch, ctr, floor = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
local format = string.format

local jobs, groups, n_jobs = {}, {}, 0
local i, argc = 4, #ARGV
while i <= argc do
  local count = tonumber(ARGV[i + 3])
  local prev = ARGV[i + 1]
  groups[#groups + 1] = { ARGV[i], prev ~= '' and tonumber(prev) or false, tonumber(ARGV[i + 2]), n_jobs + 1, n_jobs + count }
  for j = i + 4, i + 3 + count do
    n_jobs = n_jobs + 1
    jobs[n_jobs] = ARGV[j]
  end
  i = i + 4 + count
end
-- Every read and write is one command per batch: the marks in one HMGET, the
-- records, live set and marks written in one HSET / ZADD each.
local current = hmget_chunked(marks, jobs)
local moved = {} -- job -> its mark after this call (a job may come twice)
-- The marks written, in order: a job that comes twice moves forward, so its last pair wins.
local mark_pairs, n_marks = {}, 0
local codes, fencings, gaps = {}, {}, {}
local records, leases, n_rec, n_fen = {}, {}, 0, 0
local expires = NOW + ttl
-- As text once: a number handed to redis.call is formatted again for every fire.
local expires_text = ms_string(expires)
-- A record is `state SEP node SEP fencing SEP expires SEP status` (see pack).
local tail = SEP .. expires_text .. SEP
local head_running, head_claimed = 'running' .. SEP .. node .. SEP, 'claimed' .. SEP .. node .. SEP

-- A retry whose earlier call landed finds the fire still its own.
local function earlier_claim(fire_id)
  local packed = redis.call('HGET', fires, fire_id)
  if not packed then return nil end
  local rec = unpack_record(packed)
  if rec.node == node and rec.state ~= 'done' and rec.expires > NOW then return rec end
  return nil
end

for g = 1, #groups do
  local group = groups[g]
  local raw_instant, prev, flags = group[1], group[2], group[3]
  local instant = tonumber(raw_instant)
  local head = flags % 2 == 1 and head_running or head_claimed
  local retry = flags >= 2
  local at = '@' .. raw_instant
  for k = group[4], group[5] do
    local job = jobs[k]
    local mark = moved[job]
    if mark == nil then
      local c = current[k]
      if c then mark = tonumber(c) end
    end
    if mark and instant <= mark then
      local rec = retry and earlier_claim(job .. at) or nil
      if rec then
        codes[k] = rec.state == 'running' and '4' or '3'
        n_fen = n_fen + 1
        fencings[n_fen] = tonumber(rec.fencing)
      else
        codes[k] = '0'
      end
    elseif (not mark) and instant <= floor then
      moved[job] = instant
      mark_pairs[n_marks + 1] = job
      mark_pairs[n_marks + 2] = raw_instant
      n_marks = n_marks + 2
      codes[k] = '2'
    else
      moved[job] = instant
      mark_pairs[n_marks + 1] = job
      mark_pairs[n_marks + 2] = raw_instant
      n_marks = n_marks + 2
      ctr = ctr + 1
      if ctr >= COUNTER_SPAN then epoch = epoch + 1; ctr = 1 end
      local fencing = epoch * COUNTER_SPAN + ctr
      local fire_id = job .. at
      records[n_rec + 1] = fire_id
      records[n_rec + 2] = head .. format('%d', fencing) .. tail
      leases[n_rec + 1] = expires_text
      leases[n_rec + 2] = fire_id
      n_rec = n_rec + 2
      n_fen = n_fen + 1
      fencings[n_fen] = fencing
      if mark and prev and mark < prev then
        gaps[#gaps + 1] = k
        gaps[#gaps + 1] = mark
      end
      codes[k] = '1'
    end
  end
end
call_chunked('HSET', marks, mark_pairs)
call_chunked('HSET', fires, records)
call_chunked('ZADD', live, leases)
redis.call('HSET', meta, 'epoch', format('%d', epoch), 'ctr', ctr)
return { table.concat(codes), fencings, gaps }
