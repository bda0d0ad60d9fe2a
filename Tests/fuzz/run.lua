-- scripts/fuzz's driver: lua5.4 Tests/fuzz/run.lua ROOT [target ...] [--cases N] [--seed S]
--   [--case K] [--verbose]. Runs each target (all by default); writes each finding's input
-- to Tests/fuzz/findings/<target>-<seed>-<case>.bin; exits 1 when there were findings.
local fuzz = require "fuzz"
local root = assert(arg[1], "usage: run.lua ROOT [target ...] [--cases N] [--seed S] [--case K]")
local opts = {root = root, cases = 1000, seed = 1}
local names = {}
local i = 2
while arg[i] do
    local a = arg[i]
    if a == "--cases" then opts.cases = assert(math.tointeger(tonumber(arg[i + 1])), "--cases N"); i = i + 2
    elseif a == "--seed" then opts.seed = assert(math.tointeger(tonumber(arg[i + 1])), "--seed S"); i = i + 2
    elseif a == "--case" then opts.case = assert(math.tointeger(tonumber(arg[i + 1])), "--case K"); i = i + 2
    elseif a == "--verbose" then opts.verbose = true; i = i + 1
    else names[#names + 1] = a; i = i + 1 end
end
if #names == 0 then
    local p = io.popen(string.format("ls %q", root .. "/Tests/fuzz/targets"))
    for f in p:lines() do names[#names + 1] = f:match("^(.*)%.lua$") end
    p:close()
end

local total = 0
for _, name in ipairs(names) do
    local target = dofile(root .. "/Tests/fuzz/targets/" .. name .. ".lua")
    local t0 = os.clock()
    local findings, stats = fuzz.run(target, opts)
    print(("%-14s %8d cases  seed %d  %6.1f s CPU  %d finding(s)"):format(name, stats.cases, opts.seed, os.clock() - t0, #findings))
    for _, f in ipairs(findings) do
        print(("  case %d: %s"):format(f.case, f.problem))
        if f.case > 0 then
            os.execute(string.format("mkdir -p %q", root .. "/Tests/fuzz/findings"))
            local path = ("%s/Tests/fuzz/findings/%s-%d-%d.bin"):format(root, name, opts.seed, f.case)
            local out = io.open(path, "wb"); out:write(f.input); out:close()
            print("    input: " .. path .. "  (replay: scripts/fuzz " .. name .. " --seed " .. opts.seed .. " --case " .. f.case .. ")")
        end
    end
    total = total + #findings
end
os.exit(total == 0 and 0 or 1)
