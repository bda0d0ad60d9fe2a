-- One request sent by the socket bus client, waiting for its response.
require "ratchet"
local framing = require "ratchet.bus.framing"

local client_transaction = {}
client_transaction.__index = client_transaction

function client_transaction.new(request, response_from_bus, socket_buffer)
    return setmetatable({
        request = request,
        response_from_bus = response_from_bus,
        socket_buffer = socket_buffer,
    }, client_transaction)
end

--- recv_response() → response_from_bus(part1, {attachments}); nothing if the connection
-- ended before a whole response arrived. The socket is closed either way.
function client_transaction:recv_response()
    local pad = self.socket_buffer
    local ok, part1, attachments = pcall(framing.read, pad)
    pad:close()
    if not ok then error(part1, 0) end
    if part1 == nil then return end
    return self.response_from_bus(part1, attachments, pad.from)
end

return client_transaction
