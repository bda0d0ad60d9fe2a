-- ratchet-lua -w 2 with a script that fails at start: the error is on stderr and the supervisor gives up with a non-zero status.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py crashloop"), "crashloop")
