-- ratchet.smtp.server's command reader and DATA/BDAT readers: every reply is a well-formed
-- reply line (three digits, then space or hyphen), no internals reach the client, and the
-- session ends once the client half-closes.
local ratchet = require "ratchet"
local smtp_server = require "ratchet.smtp.server"
local fuzz = require "fuzz"

local T = {name = "smtp_command"}

local options = {idle_timeout = 1, max_message_size = 1 << 16}
local function handlers()
    local h = {}
    function h:HAVE_DATA(reply, data) reply.code = "250"; reply.message = "ok " .. #(data or "") end
    return h
end

local function check_output(out)
    if fuzz.leaks_internals(out) then return "internals in a reply: " .. out:sub(1, 200) end
    local n = 0
    for line in out:gmatch("([^\n]*)\n") do
        n = n + 1
        if not line:match("^[2345]%d%d[ %-][^\r]*\r$") then return ("bad reply line %d: %q"):format(n, line) end
    end
    if out ~= "" and out:sub(-1) ~= "\n" then return "the output ends inside a line" end
    if n == 0 then return "no banner" end
end

function T.case(_, _, pieces)
    local out, problem = fuzz.serve_session(function(sock) return smtp_server.new(sock, handlers(), nil, nil, options) end, pieces)
    if not out then return problem end
    return check_output(out)
end

function T.sanity()
    local a, b = ratchet.socket.new_pair()
    local server = ratchet.thread.attach(smtp_server.new(a, handlers(), nil, nil, options))
    fuzz.send_pieces(b, {"EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"})
    local out = fuzz.recv_all(b, 3)
    fuzz.finishes(server, 3)
    b:close()
    if not out:find(" ok 2\r\n", 1, true) then
        return "a valid session did not deliver: " .. out
    end
end

return T
