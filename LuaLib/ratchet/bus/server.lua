-- The socket bus, receiving end: accepts connections on a listening socket and reads one
-- framed request from each; the response goes back on the same connection, which is then
-- closed.
require "ratchet"
local socketpad = require "ratchet.socketpad"
local framing = require "ratchet.bus.framing"
local server_transaction = require "ratchet.bus.server_transaction"

local server = {}
server.__index = server

function server.new(socket, request_from_bus, response_to_bus)
    return setmetatable({
        socket = socket,
        request_from_bus = request_from_bus or tostring,
        response_to_bus = response_to_bus or tostring,
        pending = {},   -- accepted connections whose request is not complete yet: socket → pad
    }, server)
end

local function drop(self, pad)
    self.pending[pad.socket] = nil
    pcall(pad.close, pad)
end

--- recv_request() → transaction, request: waits on the listener and every connection that
-- has not finished sending its request; returns the first complete one.
function server:recv_request()
    local pending = self.pending
    while true do
        local reads = {self.socket}
        for sock in pairs(pending) do reads[#reads + 1] = sock end
        local ready = ratchet.thread.block_on(reads)
        if not ready then
            return nil, "ratchet.bus.server: nothing became readable"
        end
        if rawequal(ready, self.socket) then
            local client, from = self.socket:accept()
            pending[client] = socketpad.new(client, from)
        else
            local pad = pending[ready]
            local ok, buf, eof = pcall(pad.update_and_peek, pad)
            if not ok then
                drop(self, pad)
            else
                local part1, attachments, used = framing.decode(buf)
                if part1 then
                    pending[ready] = nil
                    pad.recv_buffer = buf:sub(used + 1)
                    local request = self.request_from_bus(part1, attachments, pad.from)
                    return server_transaction.new(request, self.response_to_bus, pad, pad.from), request
                elseif eof then
                    -- The reference kept a half-closed connection in the set, and it stayed
                    -- readable forever (a busy loop); it can never finish its request.
                    drop(self, pad)
                end
            end
        end
    end
end

return server
