-- ratchet.smtp.auth: AUTH PLAIN and LOGIN as a ready-made server handler (scripted
-- client input; swaks runs AUTH for real in test_smtp_swaks), and its base64.
local helper = require "helper"
local fake = require "fake_socket"
local server = require "ratchet.smtp.server"
local auth = require "ratchet.smtp.auth"

helper.eq(ratchet.smtp.auth, auth, "global ratchet.smtp.auth")

-- base64 round trips, and rejects what is not base64.
for _, s in ipairs({ "", "a", "ab", "abc", "abcd", "\0user\0pass", string.char(255, 0, 128) }) do
    helper.eq(auth.base64_decode(auth.base64_encode(s)), s, "base64 of " .. ("%q"):format(s))
end
helper.eq(auth.base64_encode("\0user\0pass"), "AHVzZXIAcGFzcw==", "known base64")
for _, bad in ipairs({ "abc", "a===", "ab=c", "ab$=", "AB==AB==" }) do
    helper.eq(auth.base64_decode(bad), nil, "invalid base64 " .. bad)
end

local checked = {}
local function new_auth(opts)
    opts = opts or {}
    opts.check = function(user, password, authzid)
        checked[#checked + 1] = { user, password, authzid }
        return user == "alice" and password == "s3cret"
    end
    return auth.new(opts)
end

local function session(input, a, options)
    local sock = fake.new({ input })
    local srv = server.new(sock, { AUTH = a or new_auth() }, nil, nil, options)
    srv:handle()
    return fake.lines(sock), srv
end

local b64 = auth.base64_encode
local PLAIN_OK = b64("\0alice\0s3cret")
local PLAIN_BAD = b64("\0alice\0wrong")

-- Advertised in EHLO; PLAIN with an initial response; MAIL afterwards.
do
    local lines, srv = session("EHLO x\r\nAUTH PLAIN " .. PLAIN_OK .. "\r\nAUTH PLAIN " .. PLAIN_OK
        .. "\r\nMAIL FROM:<a@b>\r\nQUIT\r\n")
    local found
    for _, l in ipairs(lines) do if l:match("^250[- ]AUTH PLAIN LOGIN$") then found = true end end
    assert(found, "AUTH advertised:\n" .. table.concat(lines, "\n"))
    local i = #lines - 3
    helper.eq(lines[i], "235 2.7.0 Authentication successful", "PLAIN")
    helper.eq(lines[i + 1], "503 5.5.1 Already authenticated", "second AUTH")
    helper.eq(lines[i + 2], "250 2.1.0 Sender <a@b> Ok", "MAIL after AUTH")
    helper.eq(srv.authenticated, "alice", "server.authenticated")
    helper.eq(checked[#checked][1], "alice", "check user")
    helper.eq(checked[#checked][2], "s3cret", "check password")
end

-- PLAIN without an initial response: empty 334 challenge; wrong password: 535 5.7.8.
do
    local lines = session("EHLO x\r\nAUTH PLAIN\r\n" .. PLAIN_BAD .. "\r\nAUTH plain\r\n" .. PLAIN_OK .. "\r\nQUIT\r\n")
    local tail = { table.unpack(lines, #lines - 4) }
    helper.eq(table.concat(tail, "|"),
        "334 |535 5.7.8 Authentication credentials invalid|334 |235 2.7.0 Authentication successful|221 2.0.0 Bye",
        "PLAIN exchange")
end

-- LOGIN: Username:/Password: challenges; with the user name given at once.
do
    local lines = session("EHLO x\r\nAUTH LOGIN\r\n" .. b64("alice") .. "\r\n" .. b64("s3cret") .. "\r\nQUIT\r\n")
    local tail = { table.unpack(lines, #lines - 3) }
    helper.eq(table.concat(tail, "|"),
        "334 VXNlcm5hbWU6|334 UGFzc3dvcmQ6|235 2.7.0 Authentication successful|221 2.0.0 Bye", "LOGIN exchange")
    lines = session("EHLO x\r\nAUTH LOGIN " .. b64("alice") .. "\r\n" .. b64("nope") .. "\r\nQUIT\r\n")
    tail = { table.unpack(lines, #lines - 2) }
    helper.eq(table.concat(tail, "|"), "334 UGFzc3dvcmQ6|535 5.7.8 Authentication credentials invalid|221 2.0.0 Bye",
        "LOGIN with initial response")
end

-- Cancel, bad base64, unknown mechanism, AUTH in a transaction, before EHLO-with-AUTH.
do
    local lines = session("EHLO x\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH CRAM-MD5\r\n"
        .. "MAIL FROM:<a@b>\r\nAUTH PLAIN " .. PLAIN_OK .. "\r\nQUIT\r\n")
    local tail = { table.unpack(lines, #lines - 6) }
    helper.eq(table.concat(tail, "|"), table.concat({
        "334 VXNlcm5hbWU6", "501 5.0.0 Authentication cancelled", "501 5.5.2 Cannot decode response",
        "504 5.5.4 Unrecognized authentication type", "250 2.1.0 Sender <a@b> Ok",
        "503 5.5.1 AUTH not allowed during a mail transaction", "221 2.0.0 Bye" }, "|"), "AUTH errors")
    -- Only the offered mechanisms.
    lines = session("EHLO x\r\nAUTH LOGIN\r\nQUIT\r\n", new_auth({ mechanisms = { "PLAIN" } }))
    helper.eq(lines[#lines - 1], "504 5.5.4 Unrecognized authentication type", "LOGIN not offered")
end

-- required: MAIL refused until authenticated. tls_only: not offered in plain text.
do
    local lines = session("EHLO x\r\nMAIL FROM:<a@b>\r\nAUTH PLAIN " .. PLAIN_OK .. "\r\nMAIL FROM:<a@b>\r\nQUIT\r\n",
        new_auth({ required = true }))
    local tail = { table.unpack(lines, #lines - 3) }
    helper.eq(table.concat(tail, "|"), "530 5.7.0 Authentication required|235 2.7.0 Authentication successful|"
        .. "250 2.1.0 Sender <a@b> Ok|221 2.0.0 Bye", "AUTH required")
    lines = session("EHLO x\r\nAUTH PLAIN " .. PLAIN_OK .. "\r\nQUIT\r\n", new_auth({ tls_only = true }))
    for _, l in ipairs(lines) do assert(not l:find("AUTH"), "AUTH offered without TLS") end
    helper.eq(lines[#lines - 1]:sub(1, 3), "500", "AUTH without TLS is unknown")
end

-- A failed AUTH counts towards the error limit.
do
    local lines = session("EHLO x\r\n" .. ("AUTH PLAIN " .. PLAIN_BAD .. "\r\n"):rep(3) .. "QUIT\r\n", nil, { max_errors = 3 })
    helper.eq(lines[#lines]:sub(1, 3), "421", "too many failed AUTH")
end

-- A response ended by a bare LF is refused (500 5.5.2), like a command line.
do
    local lines = session("EHLO x\r\nAUTH LOGIN\r\n" .. b64("alice") .. "\nQUIT\r\n")
    local tail = { table.unpack(lines, #lines - 2) }
    helper.eq(table.concat(tail, "|"), "334 VXNlcm5hbWU6|500 5.5.2 Bare <LF> received, lines end with <CR><LF>|221 2.0.0 Bye",
        "bare LF response")
end

-- Argument checks.
helper.raises_msg("check must be a function", auth.new, {})
helper.raises_msg("unsupported mechanism", auth.new, { mechanisms = { "XOAUTH" }, check = print })
print("ok")
