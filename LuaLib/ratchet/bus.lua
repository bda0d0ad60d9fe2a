-- ratchet.bus: request/response transactions between threads, either in this Lua state
-- (new_local) or over sockets (new_server / new_client).
require "ratchet"

local samestate = require "ratchet.bus.samestate"
local server = require "ratchet.bus.server"
local client = require "ratchet.bus.client"

local bus = {}

--- new_local() → bus, bus: both ends are the same object; arguments are ignored.
function bus.new_local(...)
    return samestate.new(...)
end

--- new_server(listening_socket, request_from_bus, response_to_bus)
function bus.new_server(...)
    return server.new(...)
end

--- new_client(connected_socket, request_to_bus, response_from_bus)
function bus.new_client(...)
    return client.new(...)
end

ratchet.bus = bus
return bus
