-- ratchet.smtp.client: the client side of an SMTP session over a connected socket.
-- Every command returns a reply object at once; its `code` and `message` are filled
-- in when its reply is read. With PIPELINING, MAIL and RCPT are only queued and their
-- replies are read together with the next command that waits (DATA, usually).

require "ratchet"

local data_sender = require "ratchet.smtp.data_sender"
local smtp_io = require "ratchet.smtp.smtp_io"
local smtp_extensions = require "ratchet.smtp.smtp_extensions"
local smtp_reply = require "ratchet.smtp.smtp_reply"

ratchet.smtp = ratchet.smtp or {}
local client = {}
client.__index = client
ratchet.smtp.client = client

--- new(socket, iter_size): `iter_size` is the most message bytes per socket send.
function client.new(socket, iter_size)
    local self = setmetatable({}, client)
    self.io = smtp_io.new(socket)
    self.iter_size = iter_size
    self.extensions = smtp_extensions.new()
    self.recv_queue = {}
    return self
end

-- Sends what is queued, then reads every outstanding reply in order.
local function recv_batch(self)
    self.io:flush_send()
    local queue = self.recv_queue
    self.recv_queue = {}
    for _, reply in ipairs(queue) do
        reply:recv(self.io)
    end
end

local function expect(self, name)
    local reply = smtp_reply.new(name)
    local queue = self.recv_queue
    queue[#queue + 1] = reply
    return reply
end

-- Sends `command` and waits for its reply (and every earlier one).
local function command(self, name, line)
    local reply = expect(self, name)
    self.io:send_command(line)
    recv_batch(self)
    return reply
end

function client:get_banner()
    local banner = expect(self, "[BANNER]")
    recv_batch(self)
    return banner
end

--- On 250 the extensions are parsed from the reply and `message` keeps the first line.
function client:ehlo(ehlo_as)
    local ehlo = command(self, "EHLO", "EHLO " .. ehlo_as)
    if ehlo.code == "250" then
        self.extensions:reset()
        ehlo.message = self.extensions:parse_string(ehlo.message)
    end
    return ehlo
end

function client:helo(helo_as)
    local helo = command(self, "HELO", "HELO " .. helo_as)
    if helo.code == "250" then self.extensions:reset() end
    return helo
end

--- Sends STARTTLS. On 220 the caller encrypts (`client.io.socket:encrypt(ctx)`,
-- `client_handshake()`) and says EHLO again.
function client:starttls()
    local starttls = command(self, "STARTTLS", "STARTTLS")
    if starttls.code == "220" then
        -- Bytes that came before the handshake must not pass for encrypted replies.
        self.io.recv_buffer = ""
        self.extensions:reset()
    end
    return starttls
end

-- Without PIPELINING a command waits for its reply; with it, the reply comes later.
local function maybe_pipelined(self, name, line)
    local reply = expect(self, name)
    self.io:send_command(line)
    if not self.extensions:has("PIPELINING") then
        recv_batch(self)
    end
    return reply
end

--- mailfrom(address, data_size, params): SIZE= is added when `data_size` is given and
-- the server has SIZE. `params` (extension) is a string of further ESMTP parameters,
-- e.g. "BODY=8BITMIME SMTPUTF8".
function client:mailfrom(address, data_size, params)
    local line = "MAIL FROM:<" .. address .. ">"
    if data_size and self.extensions:has("SIZE") then
        line = line .. " SIZE=" .. tostring(data_size)
    end
    if params and params ~= "" then line = line .. " " .. params end
    return maybe_pipelined(self, "MAIL FROM", line)
end

function client:rcptto(address, params)
    local line = "RCPT TO:<" .. address .. ">"
    if params and params ~= "" then line = line .. " " .. params end
    return maybe_pipelined(self, "RCPT TO", line)
end

function client:data()
    return command(self, "DATA", "DATA")
end

--- Sends the message after a 354 DATA reply, ended with CRLF only when `data` does not
-- already end with a line ending (a bare LF goes out as CRLF), then ".".
function client:send_data(data)
    local reply = expect(self, "[MESSAGE CONTENTS]")
    data_sender.new(data, self.iter_size):send(self.io)
    recv_batch(self)
    return reply
end

function client:send_empty_data()
    return command(self, "[MESSAGE CONTENTS]", ".")
end

--- custom_command(cmd, arg): sends "cmd arg" ("cmd" when arg is nil).
function client:custom_command(cmd, arg)
    local line = arg and (cmd .. " " .. arg) or cmd
    return command(self, cmd:upper(), line)
end

function client:rset()
    return command(self, "RSET", "RSET")
end

--- Extension: NOOP.
function client:noop()
    return command(self, "NOOP", "NOOP")
end

--- Extension: AUTH PLAIN (default) or LOGIN with `user` and `password`. Returns the
-- final reply (235 on success).
function client:auth(user, password, mechanism)
    local b64 = require("ratchet.smtp.auth").base64_encode
    mechanism = (mechanism or "PLAIN"):upper()
    if mechanism == "PLAIN" then
        return command(self, "AUTH", "AUTH PLAIN " .. b64("\0" .. user .. "\0" .. password))
    elseif mechanism == "LOGIN" then
        local reply = command(self, "AUTH", "AUTH LOGIN")
        if reply.code ~= "334" then return reply end
        reply = command(self, "AUTH", b64(user))
        if reply.code ~= "334" then return reply end
        return command(self, "AUTH", b64(password))
    end
    error("Unsupported AUTH mechanism: " .. mechanism, 2)
end

--- Sends QUIT, reads the reply, then closes the connection.
function client:quit()
    local quit = expect(self, "QUIT")
    self.io:send_command("QUIT")
    local ok, err = pcall(recv_batch, self)
    pcall(self.io.close, self.io)
    if not ok then error(err, 0) end
    return quit
end

function client:close()
    return self.io:close()
end

return client
