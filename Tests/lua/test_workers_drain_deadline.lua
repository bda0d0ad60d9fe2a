-- --drain-timeout 1 with a 30 s request in flight, single process and -w 2: the stop ends after about 1 s, exit 0.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py drain_deadline"), "drain_deadline")
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py drain_deadline_workers"), "drain_deadline_workers")
