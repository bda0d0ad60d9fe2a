-- ratchet-lua -w 2 and SIGQUIT: workers killed at once, the supervisor exits, nothing left.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py sigquit"), "sigquit")
