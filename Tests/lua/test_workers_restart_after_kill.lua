-- ratchet-lua -w 2: both workers answer; a worker killed with SIGKILL is replaced and the service keeps answering.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py kill9"), "kill9")
