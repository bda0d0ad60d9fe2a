-- max_connections and max_connections_per_address of http.server.serve (503) and smtp.server.serve (421 4.7.0).
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py limits_http"), "limits_http")
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py limits_smtp"), "limits_smtp")
