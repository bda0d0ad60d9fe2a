-- ratchet-lua -w 2: a SIGHUP whose new generation fails at start is abandoned; the old workers keep serving.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py reload_failure"), "reload_failure")
