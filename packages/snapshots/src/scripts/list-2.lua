--[[ list
  KEYS[1] zset to walk (one job's, or the bucket's all), executionId by startedAt
  KEYS[2] data hash: executionId -> snapshot JSON
  ARGV[1] highest startedAt to include ('+inf' for none)
  ARGV[2] with ARGV[1]: skip ids at that startedAt not below this one ('' for none; a cursor)
  ARGV[3] lowest startedAt to include
  ARGV[4] exclusive upper bound on startedAt from the filter ('+inf' for none)
  ARGV[5] statuses, comma-separated ('' for any)
  ARGV[6] nodeId ('' for any)
  ARGV[7] how many matches are wanted
  ARGV[8] how many entries to look at in this call at most
  Newest first (startedAt, then executionId, both descending). Returns
  { matches (JSON strings)..., resume } where resume is '' when the walk is
  complete, else 'score|id' of the last entry looked at (the caller goes on from it).
]]
local zset, data = KEYS[1], KEYS[2]
local max_score, after_id, min_score = ARGV[1], ARGV[2], ARGV[3]
local end_excl = tonumber(ARGV[4])
local statuses = {}
for s in string.gmatch(ARGV[5], '[^,]+') do statuses[s] = true end
local any_status = ARGV[5] == ''
local node, want, budget = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local out, looked, offset, chunk = {}, 0, 0, 200
local last_score, last_id = nil, nil
while #out < want and looked < budget do
  local page = redis.call('ZREVRANGEBYSCORE', zset, max_score, min_score, 'WITHSCORES', 'LIMIT', offset, chunk)
  if #page == 0 then return { out, '' } end
  local ids = {}
  for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
  local packed = redis.call('HMGET', data, unpack(ids))
  for k = 1, #ids do
    local id, score = ids[k], tonumber(page[k * 2])
    looked = looked + 1
    last_score, last_id = page[k * 2], id
    local skip = after_id ~= '' and score == tonumber(max_score) and id >= after_id
    if not skip and score < end_excl and packed[k] then
      local snap = cjson.decode(packed[k])
      if (any_status or statuses[snap.status]) and (node == '' or snap.nodeId == node) then
        out[#out + 1] = packed[k]
        if #out >= want then return { out, last_score .. '|' .. last_id } end
      end
    end
  end
  offset = offset + #ids
  if #ids < chunk then return { out, '' } end
end
if last_score == nil then return { out, '' } end
return { out, last_score .. '|' .. last_id }
