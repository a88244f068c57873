-- PUTs of 100-byte values on 1,000 keys: wrk -s scripts/wrk/put.lua http://host:port
local value = string.rep("x", 100)
request = function()
  return wrk.format("PUT", "/v1/kv/k" .. math.random(0, 999), nil, value)
end
