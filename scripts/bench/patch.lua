-- PATCH /v3/access-profiles/{id} (replace the description), going round the profile
-- ids listed in BENCH_IDS so that concurrent patches mostly touch different rows.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
   ids[#ids + 1] = line
end
local n = 0

wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json-patch+json"

request = function()
   n = n + 1
   local body = string.format(
      '[{"op":"replace","path":"/description","value":"bench patch %d"}]', n)
   return wrk.format(nil, "/v3/access-profiles/" .. ids[n % #ids + 1], nil, body)
end
