-- Every metamethod of every ratchet metatable, called directly with the wrong value (a
-- sockaddr, a Lua file handle, a handle of another type, plain values), raises a clear
-- Lua error (or, for __eq/__index, answers as for a foreign value) and never crashes or
-- closes anything (issue 19: `getmetatable(ratchet.socket.new()).__gc(io.stdout)` used to
-- read the file handle as a Swift object). Valid handles still work afterwards.
local ratchet = require "ratchet"
local helper = require "helper"

local registry = debug.getregistry()

-- One value of each handle type that can be made from Lua, plus foreign userdata.
local sock = ratchet.socket.new()
local ctx = ratchet.ssl.new(ratchet.ssl.TLS_client)
local a, b = ratchet.socket.new_pair()
local c, d = ratchet.socket.new_pair()
local values = {
    kernel = ratchet.new(function() end),
    socket = sock,
    ssl_ctx = ctx,
    ssl_session = a:encrypt(ctx),
    zmqsocket = ratchet.zmqsocket.new("PAIR"),
    resolv_conf = ratchet.dns.resolv_conf.new(),
    hosts = ratchet.dns.hosts.new(),
    resolver = ratchet.dns.new(),
    exec = ratchet.exec.new({"true"}),
    zmq_context = registry["ratchet.zmqsocket.context"],
    timerfd = ratchet.timerfd.new(),
    other_socket = c,
    sockaddr = ratchet.socket.prepare_tcp("127.0.0.1", 80).addr,
    unix_sockaddr = ratchet.socket.prepare_unix("/tmp/abcdefghij").addr,
    stdout = io.stdout,
    number = 42, string = "x", table = {}, boolean = true, ["nil"] = nil,
    light = ratchet.ssl.TLS_client,   -- a light userdata
    coroutine = coroutine.create(function() end),
}

local started = ratchet.exec.new({"cat"})
started:start()
values.pipe_writer, values.pipe_reader = started:stdin(), started:stdout()

-- Every metatable ratchet registered (luaL_newmetatable keeps them by name).
local metatables = {}
for name, mt in pairs(registry) do
    if type(name) == "string" and name:match("^ratchet.*_meta$") and type(mt) == "table" then
        metatables[name] = mt
    end
end
assert(metatables.ratchet_socket_meta and metatables.ratchet_meta and metatables.ratchet_zmqcontext_meta,
    "the handle metatables are registered by name")

local function kind_of(v)
    local mt = getmetatable(v)
    return type(mt) == "table" and registry[mt.__name] == mt and mt.__name or nil
end

local calls, errors = 0, 0
for name, mt in pairs(metatables) do
    for event, mm in pairs(mt) do
        if type(mm) == "function" and event:match("^__") then
            for vname, v in pairs(values) do
                if kind_of(v) ~= name then
                    calls = calls + 1
                    local ok, err = pcall(mm, v, v)
                    if not ok then
                        errors = errors + 1
                        assert(type(err) == "string" or type(err) == "table", "an error value")
                        local text = tostring(err)
                        assert(#text > 0 and not text:find("traceback", 1, true),
                            name .. "." .. event .. "(" .. vname .. "): " .. text)
                        if event == "__gc" or event == "__close" then
                            assert(text:find("expected", 1, true),
                                name .. "." .. event .. "(" .. vname .. ") should name the expected type: " .. text)
                        end
                    else
                        -- only comparisons and lookups may answer a foreign value
                        assert(event == "__eq" or event == "__index" or event == "__tostring" and name:find("error"),
                            name .. "." .. event .. "(" .. vname .. ") must raise an error")
                    end
                end
            end
        end
    end
end
assert(calls > 200 and errors > 100, "metamethods were exercised: " .. calls .. " calls, " .. errors .. " errors")

-- the documented crash, literally
local ok, err = pcall(getmetatable(ratchet.socket.new()).__gc, io.stdout)
assert(not ok and err:find("ratchet.socket expected, got FILE*", 1, true), tostring(err))

-- everything still works: nothing was closed or released by the wrong calls
io.stdout:write("")
helper.eq(values.sockaddr.port, 80, "sockaddr intact")
helper.run(function()
    c:send("ping")
    helper.eq(d:recv(), "ping", "socket pair still open")
    local t = ratchet.timerfd.new()
    t:settime(0.01)
    t:read()
end)
helper.eq(values.exec:get_argv()[1], "true", "exec object intact")
-- and the right handle's own metamethods still accept it
getmetatable(sock).__close(sock)
getmetatable(sock).__gc(sock)
getmetatable(sock).__gc(sock)   -- twice is harmless
started:kill("SIGKILL")
print(string.format("ok (%d calls, %d errors)", calls, errors))
