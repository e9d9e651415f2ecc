--[[ stats
  KEYS[1] the job's zset, executionId by startedAt
  KEYS[2] data hash: executionId -> snapshot JSON
  ARGV[1] lowest startedAt (inclusive)
  ARGV[2] highest startedAt (exclusive)
  Counts by SPEC.md (failure = failed + timeout + abandoned), durations of
  finished runs with percentile_cont, the latest start of a run. Returns
  strings: total, success, failure, skipped, timeout, avg, p50, p95, lastRun ('' none).
]]
local zset, data = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', zset, ARGV[1], '(' .. ARGV[2])
local total, success, failure, skipped, timeout, last = 0, 0, 0, 0, 0, nil
local finished = { completed = true, failed = true, timeout = true, cancelled = true, abandoned = true }
local durations = {}
for i = 1, #ids, 500 do
  local slice = {}
  for k = i, math.min(i + 499, #ids) do slice[#slice + 1] = ids[k] end
  local packed = redis.call('HMGET', data, unpack(slice))
  for k = 1, #slice do
    if packed[k] then
      local s = cjson.decode(packed[k])
      total = total + 1
      if s.status == 'completed' then success = success + 1
      elseif s.status == 'failed' or s.status == 'abandoned' then failure = failure + 1
      elseif s.status == 'timeout' then failure = failure + 1; timeout = timeout + 1
      elseif s.status == 'skipped' then skipped = skipped + 1 end
      if s.status ~= 'skipped' and s.status ~= 'misfired' and (last == nil or s.startedAt > last) then last = s.startedAt end
      if finished[s.status] and type(s.durationMs) == 'number' then durations[#durations + 1] = s.durationMs end
    end
  end
end
table.sort(durations)
local function pct(p)
  if #durations == 0 then return 0 end
  local pos = (#durations - 1) * p
  local lo, hi = math.floor(pos), math.ceil(pos)
  local a, b = durations[lo + 1], durations[hi + 1]
  return a + (b - a) * (pos - lo)
end
local sum = 0
for _, d in ipairs(durations) do sum = sum + d end
local avg = #durations == 0 and 0 or sum / #durations
local f = function(x) return string.format('%.17g', x) end
return { f(total), f(success), f(failure), f(skipped), f(timeout), f(avg), f(pct(0.5)), f(pct(0.95)), last and f(last) or '' }
