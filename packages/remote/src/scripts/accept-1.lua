--[[ accept
  KEYS[1] the record of the node that accepted this message ('failover')
  ARGV[1] how long it is kept, ms
  Returns 1 for the first caller (it takes the message), 0 for every later one.
]]
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
