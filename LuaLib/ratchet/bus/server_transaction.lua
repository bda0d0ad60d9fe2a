-- One request received by the socket bus server; the response closes its connection.
require "ratchet"
local framing = require "ratchet.bus.framing"

local server_transaction = {}
server_transaction.__index = server_transaction

function server_transaction.new(request, response_to_bus, socket_buffer, from)
    return setmetatable({
        request = request,
        response_to_bus = response_to_bus,
        socket_buffer = socket_buffer,
        from = from,
    }, server_transaction)
end

--- send_response(response): converts it with response_to_bus → part1, attachments, sends
-- the frame and closes the connection.
function server_transaction:send_response(response)
    local part1, attachments = self.response_to_bus(response)
    local pad = self.socket_buffer
    local ok, err = pcall(pad.send, pad, framing.encode(part1, attachments))
    pad:close()
    if not ok then error(err, 0) end
end

return server_transaction
