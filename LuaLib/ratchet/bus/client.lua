-- The socket bus, sending end: one request per connected socket.
require "ratchet"
local socketpad = require "ratchet.socketpad"
local framing = require "ratchet.bus.framing"
local client_transaction = require "ratchet.bus.client_transaction"

local client = {}
client.__index = client

function client.new(socket, request_to_bus, response_from_bus)
    return setmetatable({
        socket = socket,
        socket_buffer = socketpad.new(socket),
        request_to_bus = request_to_bus or tostring,
        response_from_bus = response_from_bus or tostring,
    }, client)
end

--- send_request(request) → transaction: converts it with request_to_bus → part1,
-- attachments and sends the frame.
function client:send_request(request)
    local part1, attachments = self.request_to_bus(request)
    self.socket_buffer:send(framing.encode(part1, attachments))
    return client_transaction.new(request, self.response_from_bus, self.socket_buffer)
end

return client
