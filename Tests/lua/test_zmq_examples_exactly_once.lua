-- examples/zmq_pipeline.lua and zmq_broker.lua as separate processes over tcp:// (workers under -w 2 and plain): every job done exactly once.
-- Real processes: Tests/lua/workers/check.py (see its scenarios).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py zmq_pipeline"), "zmq_pipeline")
assert(os.execute("/usr/bin/python3 " .. dir .. "/workers/check.py zmq_broker"), "zmq_broker")
