--[[ dedup
  KEYS[1] this node's record of having taken this message
  ARGV[1] how long it is kept, ms
  Returns 1 the first time (the node runs the message), 0 for a duplicate delivery.
]]
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
