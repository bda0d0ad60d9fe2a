-- ratchet-lua -w 2: SIGHUP twice under a load of 8 keep-alive clients: no failed request, no refused connection, new worker PIDs.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py reload"), "reload")
