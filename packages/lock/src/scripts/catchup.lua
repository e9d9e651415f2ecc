-- Removes `instant` from the catch-up list at `key` (JSON, kept with its TTL);
-- deletes the list when it is empty. Returns the number of instants left.
local function catchup_remove(key, instant)
  local raw = redis.call('GET', key)
  if not raw then return 0 end
  local list = cjson.decode(raw)
  local keep = {}
  for _, t in ipairs(list.instants) do
    if tostring(t) ~= instant and t ~= tonumber(instant) then keep[#keep + 1] = t end
  end
  if #keep == 0 then
    redis.call('DEL', key)
    return 0
  end
  if #keep == #list.instants then return #keep end
  list.instants = keep
  local ttl = redis.call('PTTL', key)
  if ttl > 0 then
    redis.call('SET', key, cjson.encode(list), 'PX', ttl)
  else
    redis.call('SET', key, cjson.encode(list))
  end
  return #keep
end
