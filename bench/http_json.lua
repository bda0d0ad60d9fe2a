-- The 4 KB JSON-ish document of the realistic HTTP workload (bench/http_realistic.sh), the
-- same bytes for every server: a list of user records.
local items = {}
for i = 1, 28 do
    items[i] = ('{"id":%d,"name":"user %03d","email":"user%03d@example.com","active":%s,"score":%d.%02d,' ..
        '"tags":["alpha","beta"]}'):format(i, i, i, i % 2 == 0 and "true" or "false", i * 37 % 100, i * 13 % 100)
end
local doc = '{"users":[' .. table.concat(items, ",") .. '],"total":28}'
return doc .. (" "):rep(4096 - 1 - #doc) .. "\n"
