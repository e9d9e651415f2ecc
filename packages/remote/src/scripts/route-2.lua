--[[ route
  KEYS[1] the route record of this message (string: the chosen targets, one per line)
  KEYS[2] the job's round-robin counter
  ARGV[1] strategy: first | last | random | round-robin | broadcast | sharding | specific | failover
  ARGV[2] how long the route record is kept, ms
  ARGV[3] a random fraction in [0, 1) (for 'random'; the caller's randomness)
  ARGV[4] the node named by 'specific' ('' otherwise)
  ARGV[5..] the live nodes serving the job, sorted by id
  Routing happens once per message: the first call chooses and records the
  targets; a later call with the same message (a duplicate delivery, another
  receiver) gets the same targets back. Returns {1, targets...} when routed
  now, {0, targets...} when it had been routed before; an error reply when no
  node can take it.
]]
local recorded = redis.call('GET', KEYS[1])
if recorded then
  local out = {0}
  for node in string.gmatch(recorded, '[^\n]+') do out[#out + 1] = node end
  return out
end
local strategy = ARGV[1]
local nodes = {}
for i = 5, #ARGV do nodes[#nodes + 1] = ARGV[i] end
if #nodes == 0 then return redis.error_reply('ROUTE no live node serves the job') end
local targets
if strategy == 'first' then
  targets = {nodes[1]}
elseif strategy == 'last' then
  targets = {nodes[#nodes]}
elseif strategy == 'random' then
  local i = math.floor(tonumber(ARGV[3]) * #nodes) + 1
  if i > #nodes then i = #nodes end
  targets = {nodes[i]}
elseif strategy == 'round-robin' then
  -- One counter per job for the whole cluster: calls from any node rotate evenly.
  local n = redis.call('INCR', KEYS[2])
  targets = {nodes[((n - 1) % #nodes) + 1]}
elseif strategy == 'broadcast' or strategy == 'sharding' or strategy == 'failover' then
  -- Every node ('failover': in the order they are tried).
  targets = nodes
elseif strategy == 'specific' then
  for _, node in ipairs(nodes) do
    if node == ARGV[4] then targets = {node} end
  end
  if not targets then return redis.error_reply('ROUTE node "' .. ARGV[4] .. '" is not a live node serving the job') end
else
  return redis.error_reply('ROUTE unknown strategy ' .. strategy)
end
redis.call('SET', KEYS[1], table.concat(targets, '\n'), 'PX', ARGV[2])
local out = {1}
for _, node in ipairs(targets) do out[#out + 1] = node end
return out
