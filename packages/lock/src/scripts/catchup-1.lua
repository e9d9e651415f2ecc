--[[ catchup
  KEYS[1] the job's catch-up list (JSON)
  ARGV[1] the instant whose compensation was claimed
  Returns the number of instants left (the key is deleted at 0).
]]
--! include catchup.lua
return catchup_remove(KEYS[1], ARGV[1])
