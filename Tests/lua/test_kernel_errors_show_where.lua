-- An error that ends a ratchet thread says where it happened: uncaught, through stock lua5.4
-- and through ratchet-lua, the output names the function that raised it, its line, and the
-- thread's call chain, for string, table and ratchet errors alike; the error value itself
-- is unchanged. In an error handler, debug.traceback(thread, tostring(err)) prints one
-- clean traceback; tostring of an error caught in a thread adds no unrelated stack.
local ratchet = require "ratchet"
local h = require "helper"
local runner = assert(os.getenv("RATCHET_OUT"), "RATCHET_OUT is set by scripts/test") .. "/bin/ratchet-lua"

-- A closed port: connecting to it is refused.
local function closed_port()
    local s = ratchet.socket.new()
    s:bind(ratchet.socket.prepare_tcp("127.0.0.1", 0).addr)
    local _, port = s:getsockname()
    s:close()
    return port
end

-- Line 5 raises inside raise_it_here, called from line 9 in the thread's function.
local script = [[
local ratchet = require "ratchet"
local port = ...
local kind = os.getenv("KIND")
local function raise_it_here()
    if kind == "string" then error("boom") elseif kind == "table" then error({ "a table" }) else local s = ratchet.socket.new(); s:connect(ratchet.socket.prepare_tcp("127.0.0.1", port).addr) end
end
local function thread_body()
    local x = 1
    raise_it_here()
    return x
end
ratchet.new(function() ratchet.thread.timer(0) thread_body() end):loop()
]]
local path = h.write_tmp(script, "where.lua")
local name = path:match("[^/]*$")
local port = closed_port()

for _, kind in ipairs({ "string", "table", "ratchet" }) do
    for _, cmd in ipairs({ "lua5.4", runner }) do
        local out, ok = h.sh(string.format("KIND=%s %s %s %d", kind, cmd, path, port))
        local what = kind .. " error through " .. cmd:match("[^/]*$") .. ":\n" .. out
        assert(not ok, "exit status: " .. what)
        assert(out:find(name .. ":5:", 1, true), "the line that raised: " .. what)
        assert(out:find("raise_it_here", 1, true), "the function that raised: " .. what)
        assert(out:find(name .. ":9:", 1, true), "the call chain (thread_body's call): " .. what)
        if kind == "ratchet" then
            assert(out:find("ratchet.socket.connect(): Connection refused", 1, true), "the message: " .. what)
        elseif kind == "string" then
            assert(out:find(name .. ":5: boom", 1, true), "the message: " .. what)
        end
    end
end

-- The error value leaving loop() is unchanged.
local raised_table = { "mine" }
local k = ratchet.new(function() error(raised_table) end)
local ok, err = pcall(k.loop, k)
assert(not ok and rawequal(err, raised_table) and getmetatable(err) == nil, "a table stays the same table")
k = ratchet.new(function() error("plain", 0) end)
ok, err = pcall(k.loop, k)
h.eq(err, "plain", "a string stays the same string")
k = ratchet.new(function()
    local s = ratchet.socket.new()
    s:connect(ratchet.socket.prepare_tcp("127.0.0.1", port).addr)
end)
ok, err = pcall(k.loop, k)
assert(ratchet.error.is(err, "ECONNREFUSED"), "a ratchet error stays a ratchet error: " .. tostring(err))
-- ... and its tostring, after it left loop(), shows where it was raised.
local text = tostring(err)
assert(text:find("stack traceback", 1, true) and text:find("in method 'connect'", 1, true)
    and text:find("test_kernel_errors_show_where.lua", 1, true), "tostring after loop():\n" .. text)

-- The recommended error handler prints one clean traceback of the raising thread.
local function count(s, pattern)
    local n = 0
    for _ in s:gmatch(pattern) do n = n + 1 end
    return n
end
local function raiser_in_a_function()
    local s = ratchet.socket.new()
    s:connect(ratchet.socket.prepare_tcp("127.0.0.1", port).addr)
end
for _, raise in ipairs({ raiser_in_a_function, function() error("handled boom") end }) do
    local printed
    ratchet.new(function() raise() end, function(e, thread)
        printed = debug.traceback(thread, tostring(e))
    end):loop()
    h.eq(count(printed, "stack traceback:"), 1, "one traceback:\n" .. printed)
    assert(not printed:find("'tostring'", 1, true), "no tostring frames:\n" .. printed)
    assert(printed:find("test_kernel_errors_show_where.lua:%d+:"), "the raising line:\n" .. printed)
end
local printed
ratchet.new(raiser_in_a_function, function(e, thread) printed = debug.traceback(thread, tostring(e)) end):loop()
assert(printed:find("raiser_in_a_function", 1, true) or printed:find("in function <", 1, true), printed)

-- tostring of an error caught inside a thread adds no stack (the raising frames are gone,
-- and the current stack is not where it happened), there and from another thread.
local caught
h.run(function()
    local s = ratchet.socket.new()
    local ok2, e = pcall(s.connect, s, ratchet.socket.prepare_tcp("127.0.0.1", port).addr)
    assert(not ok2)
    caught = e
    h.eq(tostring(e), "ratchet.socket.connect(): Connection refused", "tostring in the catching thread")
    ratchet.thread.attach(function()
        h.eq(tostring(caught), "ratchet.socket.connect(): Connection refused", "tostring in another thread")
    end)
    ratchet.thread.timer(0.01)
end)
h.eq(tostring(caught), "ratchet.socket.connect(): Connection refused", "tostring after the thread ended normally")

-- A plain coroutine that failed with a ratchet error keeps its stack: tostring shows it.
local co = coroutine.create(function() error(ratchet.error.new("in a coroutine", "X")) end)
local _, cerr = coroutine.resume(co)
assert(tostring(cerr):find("stack traceback", 1, true), "failed plain coroutine: " .. tostring(cerr))
