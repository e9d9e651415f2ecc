-- Appends to `out`, as id, last beat, JSON, every node whose last heartbeat is
-- within `window` ms of `now` and whose entry is still in the nodes hash.
local function append_live_nodes(nodes, beats, now, window, out)
  local live = redis.call('ZRANGEBYSCORE', beats, now - window, '+inf', 'WITHSCORES')
  for i = 1, #live, 2 do
    local json = redis.call('HGET', nodes, live[i])
    if json then
      out[#out + 1] = live[i]
      out[#out + 1] = live[i + 1]
      out[#out + 1] = json
    end
  end
  return out
end
