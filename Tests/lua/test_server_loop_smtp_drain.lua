-- smtp.server.serve on SIGTERM: an idle session gets 421 4.3.2, a session in DATA finishes its message first.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py smtp_drain"), "smtp_drain")
