-- scripts/fuzz's short fixed-seed pass (CI): every parser that reads network bytes gets a
-- few thousand mutated inputs with no finding; and the engine does find a planted bug, so
-- a clean pass means something.
local h = require "helper"
local ratchet = require "ratchet"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]+$")
assert(root, "cannot find the repository root from this file's path")
package.path = root .. "/Tests/fuzz/?.lua;" .. package.path
local fuzz = require "fuzz"

-- The canary: a line reader that fails on a NUL byte and answers without a status for a
-- line longer than 40 bytes. Its seeds contain neither; mutation must produce both.
local canary_dir = h.tmpdir() .. "/fuzz-canary"
os.execute(string.format("mkdir -p %q/Tests/fuzz/corpus/canary", canary_dir))
local f = assert(io.open(canary_dir .. "/Tests/fuzz/corpus/canary/seed.txt", "wb"))
f:write("HELLO there\r\nPING\r\nQUIT\r\n"); f:close()
local canary = {name = "canary"}
function canary.case(_, input)
    for line in input:gmatch("[^\n]*") do
        if line:find("\0", 1, true) then
            local ok, err = pcall(function() local t = nil; return t.x end)
            if not ok and fuzz.is_bug(err) then return "plain error: " .. tostring(err) end
        end
        if #line > 40 then return "line too long went unanswered" end
    end
end
local findings = fuzz.run(canary, {root = canary_dir, cases = 2000, seed = 7, max_findings = 1000})
local kinds = {}
for _, x in ipairs(findings) do kinds[x.problem:match("^(%a+ %a+)") or x.problem] = true end
assert(kinds["plain error"], "the fuzzer never produced a NUL byte in 2000 cases")
assert(kinds["line too"], "the fuzzer never produced a long line in 2000 cases")

-- The real targets, fixed seed, a few thousand cases each.
local counts = {http_request = 3000, http_response = 3000, smtp_command = 3000,
                smtp_reply = 3000, bus_frame = 3000, dns_answer = 1500,
                websocket_frame = 3000, http2_frames = 3000}
local p = io.popen(string.format("ls %q", root .. "/Tests/fuzz/targets"))
local failed = {}
for file in p:lines() do
    local name = file:match("^(.*)%.lua$")
    local target = dofile(root .. "/Tests/fuzz/targets/" .. file)
    local t0 = ratchet.now()
    local got, stats = fuzz.run(target, {root = root, cases = counts[name] or 1000, seed = 1})
    print(("%-14s %5d cases %5.1f s  %d finding(s)"):format(name, stats.cases, ratchet.now() - t0, #got))
    for _, x in ipairs(got) do
        failed[#failed + 1] = ("%s case %d: %s (replay: scripts/fuzz %s --cases %d --seed 1 --case %d)"):format(
            name, x.case, x.problem, name, counts[name] or 1000, x.case)
    end
end
p:close()
assert(#failed == 0, "fuzz findings:\n" .. table.concat(failed, "\n"))
print("ok")
