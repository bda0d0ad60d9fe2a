-- ratchet.http.client's response reader: status lines, heads, Content-Length, chunked
-- bodies, trailers, 1xx interim responses. Invariants: `query` returns a code in 100-999
-- with a header table and a string body, or nothing, or raises a ratchet.error — never a
-- plain Lua error — and returns once the server has closed.
local ratchet = require "ratchet"
local http_client = require "ratchet.http.client"
local fuzz = require "fuzz"

local T = {name = "http_response"}

function T.case(_, _, pieces, r)
    local a, b = ratchet.socket.new_pair()
    local method = r.chance(0.2) and "HEAD" or "GET"
    local result
    local client_thread = ratchet.thread.attach(function()
        local c = http_client.new(a, {host = "fuzz", timeout = 2, max_body_bytes = 1 << 20})
        result = table.pack(pcall(c.query, c, method, "/"))
        pcall(a.close, a)
    end)
    local server = ratchet.thread.attach(function()
        local req = fuzz.recv_all(b, 2, 1 << 16)  -- the client does not half-close: this times out
        return req
    end)
    -- Answer once the request is in (the client sends it at once), then close.
    ratchet.thread.timer(0)
    fuzz.send_pieces(b, pieces)
    local done = fuzz.finishes(client_thread, 3)
    ratchet.thread.kill(server)
    b:close()
    if not done then return "query did not return after the server closed" end
    if not result[1] then
        if fuzz.is_bug(result[2]) then return "query raised a plain error: " .. tostring(result[2]) end
        return
    end
    if result.n == 1 then return end          -- nothing: no complete response
    local code, reason, headers, body = result[2], result[3], result[4], result[5]
    if math.type(code) ~= "integer" or code < 100 or code > 999 then return "bad code " .. tostring(code) end
    if type(reason) ~= "string" then return "reason is " .. type(reason) end
    if type(headers) ~= "table" then return "headers are " .. type(headers) end
    if type(body) ~= "string" then return "body is " .. type(body) end
    if method == "HEAD" and body ~= "" then return "a HEAD response with a body" end
end

function T.sanity()
    local a, b = ratchet.socket.new_pair()
    local got
    local t = ratchet.thread.attach(function()
        got = table.pack(http_client.new(a, {host = "x"}):query("GET", "/"))
    end)
    fuzz.send_pieces(b, {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"})
    fuzz.finishes(t, 3)
    b:close()
    if not got or got[1] ~= 200 or got[4] ~= "ok" then return "a valid response was not read" end
end

return T
