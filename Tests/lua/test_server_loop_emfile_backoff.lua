-- The accept loop out of descriptors (ulimit -n 40): no spinning, no death, serving again once descriptors free.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py emfile"), "emfile")
