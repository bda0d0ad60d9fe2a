-- SIGTERM with a 2 s request in flight, under -w 2 and as a single process (HTTP/1.1, and HTTP/2 by curl): the request completes, idle keep-alive closes, new connections are refused, exit 0.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py sigterm"), "sigterm")
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py sigterm_single"), "sigterm_single")
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py h2_drain"), "h2_drain")
