--[[ claim-due
  KEYS[1] meta hash of the bucket (epoch, ctr, floor)
  KEYS[2] marks hash: jobName -> last claimed instant (ms), and the encoding field (bucket.lua)
  KEYS[3] fires hash: fireId -> packed record
  KEYS[4] live zset: fireId -> lease expiry, for claimed and running records
  KEYS[5] done zset: fireId -> retention expiry
  KEYS[6] batches index (batch.lua)
  ARGV[1] node id
  ARGV[2] lease ttl ms
  ARGV[3] lowest epoch to start if the bucket must be initialised (the caller's highest seen + 1)
  ARGV[4] a channel to publish ARGV[5] on once the claim is written ('' for none): the caller's
          announcement of what this claim settles, sent unless a fire was lost to data loss
  ARGV[5] that message (the bytes subscribers receive)
  ARGV[6..] groups of fires that share an instant, a previous instant and flags:
            instant, prevInstant ('' when none), flags (1 = write the records running:
            the caller starts them at once; 2 = a retry of a claim that got no answer;
            3 = both), count, then `count` job names
  Returns { codes, fencings, gaps, announced }:
    codes    a string, one digit per fire in the order sent: 1 won, its token the one after
             the previous fire won by this call (coded 1 or 5); 5 won, its token the next in
             `fencings` (the first won, and the first after an epoch began); 0 lost, 2 lost
             to data loss, 3 won by this node's earlier call and still claimed, 4 the same
             but written running
    fencings the fencing token of each fire coded 5, 3 or 4, in order (a run of won fires
             has consecutive tokens: only its first is sent)
    gaps     pairs (fire position from 1, the mark it moved from) for won fires
             whose job's mark was behind the previous instant
    announced 1 when ARGV[5] was published, else 0
  A fire is won only if its instant is later than the job's mark; winning
  moves the mark. The fires a group wins are written as one claim batch (see
  batch.lua) under the winner's lease, their fencing tokens consecutive. The
  loop does as little per fire as it can: it is the cost of every cron fire.
]]
--! include bucket.lua
--! include batch.lua
local meta, marks, fires, live, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local node, ttl = ARGV[1], tonumber(ARGV[2])
ensure_epoch(meta, ARGV[3])
local m = redis.call('HMGET', meta, 'epoch', 'ctr', 'floor')
local epoch, ctr, floor = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
local format = string.format

-- The fires are numbered k = 1.. in the order sent; fire k's job name is ARGV[group[7] + k]
-- (read where it is: no copy of the names made). A group: { instant text, previous instant
-- (number, or false), flags, first k, last k, previous instant text, ARGV offset of its names }.
local groups, n_jobs = {}, 0
local i, argc = 6, #ARGV
while i <= argc do
  local count = tonumber(ARGV[i + 3])
  local prev = ARGV[i + 1]
  groups[#groups + 1] =
    { ARGV[i], prev ~= '' and tonumber(prev) or false, tonumber(ARGV[i + 2]), n_jobs + 1, n_jobs + count, prev, i + 3 - n_jobs }
  n_jobs = n_jobs + count
  i = i + 4 + count
end
-- Every read and write is one command per call: the marks in one HMGET and one
-- HSET, each group's won fires one claim batch. The HMGET also asks for the
-- encoding field (bucket.lua), written with the marks when it is missing: its
-- answer is current[1], fire k's mark current[k + 1].
local current
if #groups == 1 and n_jobs < CHUNK then
  current = redis.call('HMGET', marks, MARKS_ENCODING_FIELD, unpack(ARGV, 10, 9 + n_jobs))
else
  local fields = { MARKS_ENCODING_FIELD }
  for g = 1, #groups do
    local group = groups[g]
    for k = group[4], group[5] do fields[k + 1] = ARGV[group[7] + k] end
  end
  current = hmget_chunked(marks, fields)
end
local moved = {} -- job -> its mark after this call (a job may come twice)
-- The marks written, in order: a job that comes twice moves forward, so its last pair wins.
local mark_pairs, n_marks = {}, 0
if not current[1] then
  mark_pairs[1], mark_pairs[2], n_marks = MARKS_ENCODING_FIELD, MARKS_ENCODING_VALUE, 2
end
local codes, fencings, gaps = {}, {}, {}
local data_lost = false
local n_fen = 0
local last_won = nil -- the token of the last fire this call won: the next one won is coded 1 if it follows
local expires = NOW + ttl
-- As text once: a number handed to redis.call is formatted again for every fire.
local expires_text = ms_string(expires)

-- A retry whose earlier call landed finds the fire still its own.
local function earlier_claim(fire_id)
  local packed = redis.call('HGET', fires, fire_id)
  if packed then
    local rec = unpack_record(packed)
    if rec.node == node and rec.state ~= 'done' and rec.expires > NOW then return rec end
    return nil
  end
  local b = batch_find(fires, live, batches, fire_id)
  if b and b.node == node and b.expires > NOW then return b end
  return nil
end

-- The batch being filled: the fires won in a row of one group, their tokens from `first` on.
local batch_jobs, batch_n, batch_first = {}, 0, 0
local function close_batch(raw_instant, letter)
  if batch_n > 0 then
    batch_write(fires, live, batches, batch_first, node, raw_instant, batch_jobs, batch_n, letter, expires_text)
    batch_jobs, batch_n = {}, 0
  end
end

for g = 1, #groups do
  local group = groups[g]
  local raw_instant, prev, flags, raw_prev, base = group[1], group[2], group[3], group[6], group[7]
  local instant = tonumber(raw_instant)
  local letter = flags % 2 == 1 and 'r' or 'c'
  local retry = flags >= 2
  local at = '@' .. raw_instant
  for k = group[4], group[5] do
    local job = ARGV[base + k]
    local mark = moved[job]
    if mark == nil then
      local c = current[k + 1]
      -- A mark is written as the instant's text, so the usual one (the previous instant) is
      -- known by its text: no number parsed (the slowest step of the loop otherwise).
      if c then mark = c == raw_prev and prev or tonumber(c) end
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
      data_lost = true
    else
      moved[job] = instant
      mark_pairs[n_marks + 1] = job
      mark_pairs[n_marks + 2] = raw_instant
      n_marks = n_marks + 2
      ctr = ctr + 1
      if ctr >= COUNTER_SPAN then
        -- A new epoch breaks the run of tokens: the batch so far is written, a new one begins.
        close_batch(raw_instant, letter)
        epoch = epoch + 1
        ctr = 1
      end
      local fencing = epoch * COUNTER_SPAN + ctr
      if batch_n == 0 then batch_first = fencing end
      batch_n = batch_n + 1
      batch_jobs[batch_n] = job
      if mark and prev and mark < prev then
        gaps[#gaps + 1] = k
        gaps[#gaps + 1] = mark
      end
      if last_won and fencing == last_won + 1 then
        codes[k] = '1'
      else
        codes[k] = '5'
        n_fen = n_fen + 1
        fencings[n_fen] = fencing
      end
      last_won = fencing
    end
  end
  close_batch(raw_instant, letter)
end
call_chunked('HSET', marks, mark_pairs)
redis.call('HSET', meta, 'epoch', format('%d', epoch), 'ctr', ctr)
-- After a data loss the marks were reseeded: nothing is announced, everyone sweeps as before.
local announced = 0
if ARGV[4] ~= '' and not data_lost then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  announced = 1
end
return { table.concat(codes), fencings, gaps, announced }
