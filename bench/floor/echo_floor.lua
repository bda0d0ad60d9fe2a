-- bench/echo_server.lua's server on bench/floor/echo_floor.c instead of ratchet: the same
-- coroutine per connection doing recv/send, with nothing of a library around it.
-- usage: lua5.4 echo_floor.lua PORT
local floor = require "echo_floor"
local port = assert(tonumber(arg[1]), "usage: echo_floor.lua PORT")

local serve = dofile((arg[0]:match("^(.*)/") or ".") .. "/../echo_serve.lua")

floor.spawn(function()
    local server = floor.listen(port)
    while true do
        floor.spawn(serve, (server:accept()))
    end
end)
floor.loop()
