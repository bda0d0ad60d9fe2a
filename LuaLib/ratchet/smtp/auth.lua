-- ratchet.smtp.auth (extension beyond the original): ready-made SMTP AUTH (RFC 4954)
-- with the PLAIN (RFC 4616) and LOGIN mechanisms, credentials checked by a callback.
--
--   handlers.AUTH = ratchet.smtp.auth.new{
--       mechanisms = {"PLAIN", "LOGIN"},
--       check = function(user, password) return user == "u" and password == "p" end,
--   }
--
-- Installed as the AUTH handler, it is called like any custom command,
-- handlers:AUTH(arg, server), and the server advertises it in EHLO.

require "ratchet"

ratchet.smtp = ratchet.smtp or {}
local auth = {}
auth.__index = auth
ratchet.smtp.auth = auth

local KNOWN = { PLAIN = true, LOGIN = true }
-- RFC 4954 4: a client response line may be up to 12288 octets.
local MAX_RESPONSE_LINE = 12288

-- {{{ base64 (RFC 4648)
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local ENC, DEC = {}, {}
for i = 1, 64 do
    local c = ALPHABET:sub(i, i)
    ENC[i - 1] = c
    DEC[c:byte()] = i - 1
end

function auth.base64_encode(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local n = (a << 16) | ((b or 0) << 8) | (c or 0)
        out[#out + 1] = ENC[(n >> 18) & 63] .. ENC[(n >> 12) & 63]
            .. (b and ENC[(n >> 6) & 63] or "=") .. (c and ENC[n & 63] or "=")
    end
    return table.concat(out)
end

--- Returns the decoded string, or nil when `s` is not valid base64.
function auth.base64_decode(s)
    if #s % 4 ~= 0 then return nil end
    local out = {}
    for i = 1, #s, 4 do
        local c1, c2, c3, c4 = s:byte(i, i + 3)
        local last = i + 3 == #s
        local v1, v2 = DEC[c1], DEC[c2]
        if not v1 or not v2 then return nil end
        local pad3, pad4 = c3 == 61, c4 == 61
        if (pad3 or pad4) and not last then return nil end
        if pad3 and not pad4 then return nil end
        local v3 = pad3 and 0 or DEC[c3]
        local v4 = pad4 and 0 or DEC[c4]
        if not v3 or not v4 then return nil end
        local n = (v1 << 18) | (v2 << 12) | (v3 << 6) | v4
        local bytes = string.char((n >> 16) & 255, (n >> 8) & 255, n & 255)
        if pad3 then bytes = bytes:sub(1, 1) elseif pad4 then bytes = bytes:sub(1, 2) end
        out[#out + 1] = bytes
    end
    return table.concat(out)
end
-- }}}

--- new{mechanisms = {"PLAIN", "LOGIN"}, check = function(user, password, authzid, server)
-- return true|false end, tls_only = false, required = false}.
-- tls_only: AUTH is offered only once the session is encrypted. required: MAIL is
-- refused (530 5.7.0) until the client has authenticated.
function auth.new(options)
    options = options or {}
    if type(options.check) ~= "function" then
        error("ratchet.smtp.auth.new(): check must be a function", 2)
    end
    local mechanisms = {}
    for _, m in ipairs(options.mechanisms or { "PLAIN", "LOGIN" }) do
        local name = tostring(m):upper()
        if not KNOWN[name] then
            error("ratchet.smtp.auth.new(): unsupported mechanism " .. name, 2)
        end
        mechanisms[#mechanisms + 1] = name
    end
    return setmetatable({
        mechanisms = mechanisms,
        check = options.check,
        tls_only = options.tls_only and true or false,
        required = options.required and true or false,
    }, auth)
end

--- The EHLO parameter: the mechanism names.
function auth:__tostring()
    return table.concat(self.mechanisms, " ")
end

function auth:offers(mechanism)
    for _, m in ipairs(self.mechanisms) do
        if m == mechanism then return true end
    end
    return false
end

local function reply(code, esc, message)
    return { code = code, message = message, enhanced_status_code = esc }
end

-- Sends a 334 challenge and reads the client's response line. Returns the decoded
-- response, or nil and the reply to end the exchange with.
local function challenge(server, text)
    server.io:send_reply("334", text)
    server.io:flush_send()
    local line, why = server.io:recv_line(MAX_RESPONSE_LINE)
    return auth.decode_response(server, line, why)
end

-- A client response: "*" cancels (RFC 4954 4), anything else must be base64.
function auth.decode_response(server, line, why)
    if line == nil then
        server.errors = server.errors + 1
        if why == "bare LF" then return nil, reply("500", "5.5.2", "Bare <LF> received, lines end with <CR><LF>") end
        return nil, reply("500", "5.5.6", "Authentication exchange line is too long")
    elseif line == "*" then
        return nil, reply("501", "5.0.0", "Authentication cancelled")
    end
    local decoded = auth.base64_decode(line)
    if not decoded then
        server.errors = server.errors + 1
        return nil, reply("501", "5.5.2", "Cannot decode response")
    end
    return decoded
end

local mechanisms = {}

function mechanisms.PLAIN(server, initial)
    local response, err
    if initial == "" then
        response, err = challenge(server, "")
    elseif initial == "=" then
        response = ""
    else
        response, err = auth.decode_response(server, initial)
    end
    if not response then return nil, err end
    local authzid, user, password = response:match("^([^%z]*)%z([^%z]*)%z([^%z]*)$")
    if not authzid then
        server.errors = server.errors + 1
        return nil, reply("501", "5.5.2", "Malformed PLAIN response")
    end
    return user, password, authzid
end

function mechanisms.LOGIN(server, initial)
    local user, password, err
    if initial ~= "" then
        user, err = auth.decode_response(server, initial)
    else
        user, err = challenge(server, "VXNlcm5hbWU6") -- "Username:"
    end
    if not user then return nil, err end
    password, err = challenge(server, "UGFzc3dvcmQ6") -- "Password:"
    if not password then return nil, err end
    return user, password, ""
end

--- The AUTH command: handlers:AUTH(arg, server) → reply table.
function auth:handle(arg, server)
    if not server.extensions:has("AUTH") then
        return server:unknown_command("AUTH", arg)
    elseif server.authenticated then
        return server:bad_sequence("AUTH", arg, "Already authenticated")
    elseif server.have_mailfrom then
        return server:bad_sequence("AUTH", arg, "AUTH not allowed during a mail transaction")
    end
    local mechanism, initial = arg:match("^(%S+)%s*(%S*)%s*$")
    if not mechanism then return server:bad_arguments("AUTH", arg) end
    mechanism = mechanism:upper()
    if not self:offers(mechanism) then
        return server:unknown_parameter("AUTH", arg, "Unrecognized authentication type")
    end

    local user, password, authzid = mechanisms[mechanism](server, initial)
    if not user then return password end -- the reply that ended the exchange
    if self.check(user, password, authzid, server) then
        server.authenticated = user
        return reply("235", "2.7.0", "Authentication successful")
    end
    server.errors = server.errors + 1
    return reply("535", "5.7.8", "Authentication credentials invalid")
end

function auth:__call(handlers, arg, server)
    return self:handle(arg, server)
end

return auth
