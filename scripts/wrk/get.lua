-- Linearizable GETs on 1,000 keys: wrk -s scripts/wrk/get.lua http://host:port
request = function()
  return wrk.format("GET", "/v1/kv/k" .. math.random(0, 999))
end
