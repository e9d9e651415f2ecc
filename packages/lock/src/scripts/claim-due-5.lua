--[[ claim-due
  KEYS[1] meta hash of the bucket (epoch, ctr, floor)
  KEYS[2] marks hash: jobName -> last claimed instant (ms)
  KEYS[3] fires hash: fireId -> packed record
  KEYS[4] live zset: fireId -> lease expiry, for claimed and running records
  KEYS[5] done zset: fireId -> retention expiry
  ARGV[1] node id
  ARGV[2] lease ttl ms
  ARGV[3] lowest epoch to start if the bucket must be initialised (the caller's highest seen + 1)
  ARGV[4..] quads: jobName, instant, prevInstant ('' when none), flags: 1 = write the
            record running (the caller starts it at once), 2 = a retry of a claim that got
            no answer (3 = both)
  Returns a flat array, three integers per fire in order:
    code (1 won, 0 lost, 2 lost to data loss, 3 won by this node's earlier call and
    still claimed, 4 the same but written running), fencing token (won), gapAfter
    (won; -1 when no gap)
  A fire is won only if its instant is later than the job's mark; winning
  moves the mark and writes a claimed record under the winner's lease.
]]
--! include bucket.lua
local meta, marks, fires, live, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local node, ttl = ARGV[1], tonumber(ARGV[2])
ensure_epoch(meta, ARGV[3])
local m = redis.call('HMGET', meta, 'epoch', 'ctr', 'floor')
local epoch, ctr, floor = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
-- Every read and write is one command per batch: the marks in one HMGET, the
-- records, live set and marks written in one HSET / ZADD each.
local jobs = {}
for i = 4, #ARGV, 4 do jobs[#jobs + 1] = ARGV[i] end
local current = hmget_chunked(marks, jobs)
local moved = {} -- job -> its mark after this call (a job may come twice)
local out, records, leases = {}, {}, {}
local expires = NOW + ttl
local expires_text = ms_string(expires)
for k = 1, #jobs do
  local base = 3 + (k - 1) * 4
  local job, raw_instant, prev, flags = jobs[k], ARGV[base + 2], ARGV[base + 3], tonumber(ARGV[base + 4])
  local start_now, retry = flags % 2 == 1, flags >= 2
  local instant = tonumber(raw_instant)
  local mark = moved[job]
  if mark == nil and current[k] then mark = tonumber(current[k]) end
  local earlier = nil
  if mark and instant <= mark and retry then
    -- A retry: if this node's earlier call landed, the fire is still its own.
    local packed = redis.call('HGET', fires, job .. '@' .. raw_instant)
    if packed then
      local rec = unpack_record(packed)
      if rec.node == node and rec.state ~= 'done' and rec.expires > NOW then earlier = rec end
    end
  end
  if earlier then
    out[#out + 1] = earlier.state == 'running' and 4 or 3; out[#out + 1] = tonumber(earlier.fencing); out[#out + 1] = -1
  elseif mark and instant <= mark then
    out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = -1
  elseif (not mark) and instant <= floor then
    moved[job] = instant
    out[#out + 1] = 2; out[#out + 1] = 0; out[#out + 1] = -1
  else
    moved[job] = instant
    ctr = ctr + 1
    if ctr >= COUNTER_SPAN then epoch = epoch + 1; ctr = 1 end
    local fencing = epoch * COUNTER_SPAN + ctr
    local fire_id = job .. '@' .. raw_instant
    records[#records + 1] = fire_id
    records[#records + 1] = pack(start_now and 'running' or 'claimed', node, string.format('%d', fencing), expires_text, '')
    leases[#leases + 1] = expires
    leases[#leases + 1] = fire_id
    local gap = -1
    if mark and prev ~= '' and mark < tonumber(prev) then gap = mark end
    out[#out + 1] = 1; out[#out + 1] = fencing; out[#out + 1] = gap
  end
end
local mark_pairs = {}
for job, instant in pairs(moved) do
  mark_pairs[#mark_pairs + 1] = job
  mark_pairs[#mark_pairs + 1] = string.format('%d', instant)
end
call_chunked('HSET', marks, mark_pairs)
call_chunked('HSET', fires, records)
call_chunked('ZADD', live, leases)
redis.call('HSET', meta, 'epoch', string.format('%d', epoch), 'ctr', ctr)
return out
