-- A client's reply object: returned by every client command at once and filled in
-- when its reply is read (with PIPELINING that can be several commands later).
-- Internal helper: returns a class table and sets no globals.

local smtp_reply = {}
smtp_reply.__index = smtp_reply

function smtp_reply.new(command)
    return setmetatable({ command = command }, smtp_reply)
end

--- Reads this reply from `io`: `code` is a string ("250"), `message` the text lines
-- joined by CRLF; a malformed reply leaves `code` nil and the line in `message`.
function smtp_reply:recv(io)
    self.code, self.message = io:recv_reply()
end

--- A plain table describing this reply as an error, for `error(reply:error(...))`.
function smtp_reply:error(description)
    return {
        command = self.command,
        code = self.code,
        message = self.message,
        description = description,
    }
end

function smtp_reply:__tostring()
    return tostring(self.code) .. " " .. tostring(self.message)
end

return smtp_reply
