-- ratchet-lua -w 2 with a script that ends: each worker runs it once, the supervisor exits 0.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py finished"), "finished")
