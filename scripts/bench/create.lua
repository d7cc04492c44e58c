-- POST /v3/access-profiles with a new name each request (wrk -t1: one counter).
-- BENCH_TAG makes the names unique across runs on the same database.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local body = '{"name":"Bench create %s %d","description":"bench",' ..
   '"owner":{"type":"IDENTITY","id":"' .. os.getenv("SEED_OWNER_ID") .. '"},' ..
   '"source":{"type":"SOURCE","id":"' .. os.getenv("SEED_SOURCE_ID") .. '"},' ..
   '"entitlements":[{"type":"ENTITLEMENT","id":"' .. os.getenv("SEED_ENTITLEMENT_ID") .. '"}],' ..
   '"enabled":true,"requestable":true}'
local tag = os.getenv("BENCH_TAG")
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
   n = n + 1
   return wrk.format(nil, nil, nil, string.format(body, tag, n))
end
