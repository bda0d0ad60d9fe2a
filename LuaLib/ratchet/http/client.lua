-- ratchet.http.client: HTTP/1.1 requests on a connected socket (the reference's
-- new(socket):query(...)), persistent connections, chunked bodies both ways, HTTPS through
-- ratchet.ssl, and fetch(url, options) for one request in one call.
require "ratchet"
local common = require "ratchet.http.common"

local find, sub, byte, upper, lower, format, match = string.find, string.sub, string.byte,
    string.upper, string.lower, string.format, string.match
local concat = table.concat
local parse_fields, has_token = common.parse_fields, common.has_token

local client = {}
client.__index = client

client.defaults = {
    max_header_bytes = 65536,
    max_headers = 200,
    max_body_bytes = 64 * 1024 * 1024,
}

local RECV_SIZE = 65536

--- new(socket, options) → client for an already connected (and possibly encrypted) socket.
-- options (or just the host string): host (for the Host header; default "localhost"),
-- keep_alive (default false: like the reference, the socket is closed after one query),
-- timeout (seconds, set on the socket), max_header_bytes, max_headers, max_body_bytes.
function client.new(socket, options)
    if type(options) == "string" then options = {host = options} end
    options = options or {}
    local self = setmetatable({
        socket = socket,
        host = options.host or "localhost",
        keep_alive = options.keep_alive or false,
        buf = "", pos = 1,
    }, client)
    for k, v in pairs(client.defaults) do self[k] = options[k] or v end
    if options.timeout then socket:set_timeout(options.timeout) end
    return self
end

local function recv(self)
    return self.socket:recv(RECV_SIZE)
end

local function send_all(sock, data)
    local rest = sock:send(data)
    while rest do rest = sock:send(rest) end
end

--- close(): ends the connection (TLS close_notify first when encrypted).
function client:close()
    local sock = self.socket
    if self.closed or not sock then return end
    self.closed = true
    local enc = sock.get_encryption and sock:get_encryption()
    if enc then pcall(enc.shutdown, enc) end
    pcall(sock.close, sock)
end

-- The request head (and a string body) as one string.
local function build_request(self, method, uri, headers, data)
    local out, n = {method, " ", uri, " HTTP/1.1\r\n"}, 4
    local has_host, has_length, has_te, has_conn
    if headers then
        for name, values in pairs(headers) do
            local lname = common.lower_name(name)
            if lname == "host" then has_host = true
            elseif lname == "content-length" then has_length = true
            elseif lname == "transfer-encoding" then has_te = true
            elseif lname == "connection" then has_conn = true end
            if type(values) ~= "table" then values = {values} end
            for i = 1, #values do
                n = n + 1; out[n] = name .. ": " .. tostring(values[i]) .. "\r\n"
            end
        end
    end
    if not has_host then n = n + 1; out[n] = "Host: " .. self.host .. "\r\n" end
    local chunked = false
    if type(data) == "function" then
        if not has_length and not has_te then
            n = n + 1; out[n] = "Transfer-Encoding: chunked\r\n"
            chunked = true
        end
    elseif data ~= nil then
        data = tostring(data)
        if not has_length and not has_te then
            n = n + 1; out[n] = "Content-Length: " .. #data .. "\r\n"
        end
    end
    if not self.keep_alive and not has_conn then n = n + 1; out[n] = "Connection: close\r\n" end
    n = n + 1; out[n] = "\r\n"
    if type(data) == "string" then n = n + 1; out[n] = data end
    return concat(out, "", 1, n), chunked
end

-- Makes at least `need` unread bytes available in self.buf from self.pos; false at EOF.
local function fill(self, need)
    local buf, pos = self.buf, self.pos
    local have = #buf - pos + 1
    if have >= need then return true end
    local parts, n = {sub(buf, pos)}, 1
    while have < need do
        local d = recv(self)
        if d == "" then
            self.buf, self.pos = concat(parts, "", 1, n), 1
            return false
        end
        n = n + 1; parts[n] = d
        have = have + #d
    end
    self.buf, self.pos = concat(parts, "", 1, n), 1
    return true
end

-- Reads until `delim` is in the buffer; returns its position, or nil at EOF / past `limit`.
local function fill_until(self, delim, limit)
    while true do
        local at = find(self.buf, delim, self.pos, true)
        if at then return at end
        if #self.buf - self.pos > limit then return nil, "too large" end
        local d = recv(self)
        if d == "" then return nil, "closed" end
        self.buf, self.pos = sub(self.buf, self.pos) .. d, 1
    end
end

local function read_chunked(self, headers)
    local parts, n, total = {}, 0, 0
    while true do
        local at = fill_until(self, "\r\n", 1024)
        if not at then return nil end
        local hex = match(self.buf, "^(%x+)", self.pos)
        if not hex or #hex > 12 then return nil end
        local size = tonumber(hex, 16)
        self.pos = at + 2
        if size == 0 then
            -- trailers up to an empty line
            while true do
                local e = fill_until(self, "\r\n", self.max_header_bytes)
                if not e then return nil end
                if e == self.pos then self.pos = e + 2; break end
                if not parse_fields(self.buf, self.pos, e + 2, headers, self.max_headers, true) then return nil end
                self.pos = e + 2
            end
            return concat(parts, "", 1, n)
        end
        total = total + size
        if total > self.max_body_bytes then return nil end
        if not fill(self, size + 2) then return nil end
        local pos = self.pos
        n = n + 1; parts[n] = sub(self.buf, pos, pos + size - 1)
        self.pos = pos + size + 2
    end
end

-- Reads one response: code, reason, headers, data, keep (can the connection be reused?).
local function read_response(self, method)
    while true do
        local he = fill_until(self, "\r\n\r\n", self.max_header_bytes)
        if not he then return nil end
        local buf, pos = self.buf, self.pos
        local _, _, major, minor, code, reason, line_end =
            find(buf, "^HTTP/(%d)%.(%d) (%d%d%d) ?([^\r\n]*)\r\n()", pos)
        if not code then return nil end
        local headers = common.new_headers()
        if not parse_fields(buf, line_end, he + 2, headers, self.max_headers, true) then return nil end
        self.pos = he + 4
        code = tonumber(code)
        if code >= 200 or code == 101 then
            local conn = rawget(headers, "connection")
            local keep
            if major == "1" and minor ~= "0" then
                keep = not (conn and has_token(conn, "close"))
            else
                keep = conn ~= nil and has_token(conn, "keep-alive")
            end
            local data = ""
            local te, cl = rawget(headers, "transfer-encoding"), rawget(headers, "content-length")
            if method == "HEAD" or code == 204 or code == 304 or code < 200 then
                -- no body
            elseif te and has_token(te, "chunked") then
                data = read_chunked(self, headers)
                if not data then return nil end
            elseif cl and match(cl[1], "^%s*%d+%s*$") then
                local len = tonumber(match(cl[1], "%d+"))
                if len > self.max_body_bytes then return nil end
                if not fill(self, len) then return nil end
                data = sub(self.buf, self.pos, self.pos + len - 1)
                self.pos = self.pos + len
            else
                -- the body ends with the connection
                local parts, n, total = {sub(self.buf, self.pos)}, 1, #self.buf - self.pos + 1
                while true do
                    local d = recv(self)
                    if d == "" then break end
                    total = total + #d
                    if total > self.max_body_bytes then return nil end
                    n = n + 1; parts[n] = d
                end
                data = concat(parts, "", 1, n)
                self.buf, self.pos = "", 1
                keep = false
            end
            return code, reason, headers, data, keep
        end
        -- 1xx interim responses (100 Continue, ...) are skipped
    end
end

--- query(command, uri, headers, data) → code, reason, headers, data; nothing if no complete
-- response came. `headers` maps names to a value or an array of values; `data` is a string,
-- or a function returning successive pieces (sent chunked) and nil at the end.
function client:query(command, uri, headers, data)
    if self.closed then error("ratchet.http.client: the connection is closed", 2) end
    local method = upper(command)
    local sock = self.socket
    local head, chunked = build_request(self, method, uri or "/", headers, data)
    local ok, code, reason, rheaders, body, keep = pcall(function()
        send_all(sock, head)
        if type(data) == "function" then
            while true do
                local piece = data()
                if piece == nil then break end
                piece = tostring(piece)
                if piece ~= "" then
                    send_all(sock, chunked and (format("%x\r\n", #piece) .. piece .. "\r\n") or piece)
                end
            end
            if chunked then send_all(sock, "0\r\n\r\n") end
        end
        return read_response(self, method)
    end)
    if not ok then
        self:close()
        error(code, 0)
    end
    if not code or not keep or not self.keep_alive then self:close() end
    if not code then return end
    return code, reason, rheaders, body
end

-- URL → scheme, host (no brackets), port, path (with the query), host header value.
local function parse_url(url)
    local scheme, rest = match(url, "^(%a[%w+.-]*)://(.*)$")
    if not scheme then return nil, "not an absolute http(s) URL: " .. tostring(url) end
    scheme = lower(scheme)
    if scheme ~= "http" and scheme ~= "https" then return nil, "unsupported URL scheme: " .. scheme end
    local authority = match(rest, "^[^/?#]*")
    local path = sub(rest, #authority + 1):gsub("#.*$", "")
    if path == "" or byte(path, 1) == 63 then path = "/" .. path end  -- 63: "?"
    authority = authority:gsub("^.*@", "")
    local host, port = match(authority, "^%[([^%]]+)%]:?(%d*)$")
    if not host then host, port = match(authority, "^([^:]+):?(%d*)$") end
    if not host or host == "" then return nil, "no host in URL: " .. url end
    local default = scheme == "https" and 443 or 80
    port = tonumber(port) or default
    if port < 1 or port > 65535 then return nil, "bad port in URL: " .. url end
    local hostname = find(host, ":", 1, true) and ("[" .. host .. "]") or host
    local host_header = port == default and hostname or (hostname .. ":" .. port)
    return scheme, host, port, path, host_header
end
client.parse_url = parse_url

-- The TLS context for a client: the given one, or a new one trusting the given CAs (or the
-- system's), cached per CA source so that repeated fetches share it.
-- `alpn`: the protocols to offer (HTTP/2 uses its own contexts offering h2).
local contexts = setmetatable({}, {__mode = "v"})
local function tls_context(options, alpn)
    local ssl = ratchet.ssl
    local ctx = options.ssl_context or options.tls
    if ctx then return ctx end
    if not ssl or not ssl.new then error("ratchet.http.client: ratchet.ssl is not available for HTTPS", 3) end
    local key = tostring(options.ca_file) .. "\0" .. tostring(options.ca_path) .. "\0" ..
        tostring(options.verify ~= false) .. (alpn and "\0" .. table.concat(alpn, ",") or "")
    ctx = contexts[key]
    if ctx then return ctx end
    ctx = ssl.new(ssl.TLS_client or ssl.TLSv1_client)
    if options.ca_file or options.ca_path then
        ctx:load_cas(options.ca_path, options.ca_file)
    elseif ctx.load_default_verify_paths then
        ctx:load_default_verify_paths()
    end
    if options.verify == false and ctx.set_verify then ctx:set_verify(false) end
    if alpn then ctx:set_alpn(alpn) end
    contexts[key] = ctx
    return ctx
end
client.tls_context = tls_context

--- connect(url, options) → client with keep_alive on, connected to the URL's host and port
-- (only the scheme and authority of the URL are used). HTTPS options: ssl_context (a
-- ratchet.ssl client context), or ca_file / ca_path; verify (default true: the handshake
-- fails unless the certificate is valid for the host). Also: timeout, keep_alive, and the
-- limits of new().
function client.connect(url, options)
    options = options or {}
    local scheme, host, port, _, host_header = parse_url(url)
    if not scheme then error(host, 2) end
    local rec = ratchet.socket.prepare_tcp(host, port, options.family)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    if options.timeout then sock:set_timeout(options.timeout) end
    local ok, err = pcall(function()
        sock:connect(rec.addr)
        if scheme == "https" then
            local enc = sock:encrypt(tls_context(options))
            -- the host name also goes out as SNI and, where verification is on in the
            -- context, is checked during the handshake (EVERIFY)
            enc:client_handshake(host)
            if options.verify ~= false then
                local got, verified, matched = enc:verify_certificate(host)
                if not (got and verified and matched) then
                    error(ratchet.error.new(
                        "Server certificate of " .. host .. (not got and " missing" or
                        not verified and " not trusted" or " does not match the host name"),
                        "EVERIFY", "ratchet.http.client.connect()"), 0)
                end
            end
        end
    end)
    if not ok then
        pcall(sock.close, sock)
        error(err, 0)
    end
    local keep = options.keep_alive
    if keep == nil then keep = true end
    local c = client.new(sock, {host = host_header, keep_alive = keep, timeout = options.timeout,
        max_header_bytes = options.max_header_bytes, max_headers = options.max_headers,
        max_body_bytes = options.max_body_bytes})
    c.url_scheme, c.url_host, c.url_port = scheme, host, port
    return c
end

local REDIRECTS = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true}

-- Resolves a Location value against the URL it came from.
local function resolve(base, location)
    if match(location, "^%a[%w+.-]*://") then return location end
    local scheme, authority = match(base, "^(%a[%w+.-]*)://([^/?#]*)")
    if sub(location, 1, 2) == "//" then return scheme .. ":" .. location end
    if byte(location, 1) == 47 then return scheme .. "://" .. authority .. location end  -- "/"
    local dir = match(base, "^%a[%w+.-]*://[^/?#]*(/[^?#]*/)") or "/"
    return scheme .. "://" .. authority .. dir .. location
end

--- fetch(url, options) → code, message, headers, data: one request on a new connection.
-- options: method (default "GET"), headers, data, timeout, redirects (how many to follow;
-- default 0: a redirect is returned as it is), client (a client from connect() to send the
-- request on instead, kept open), and the HTTPS options of connect(). Raises on connection
-- failures; raises an ECONNCLOSED ratchet error when no complete response arrives.
function client.fetch(url, options)
    options = options or {}
    local method = upper(options.method or "GET")
    local data = options.data
    local follow = options.redirects
    if follow == true then follow = 5 end
    follow = tonumber(follow) or 0
    while true do
        local scheme, problem, _, path = parse_url(url)
        if not scheme then error(problem, 2) end
        local c = options.client
        local own = not c
        -- HTTP/2 where it applies (ALPN on https, or prior knowledge): h2_client.lua; it may
        -- hand back the HTTP/1.1 connection it made when the server did not choose h2
        local code, message, headers, body
        if own and options.http2 ~= false then
            code, message, headers, body = require("ratchet.http.h2_client").fetch(url, method, data, options)
            if not code then c = message end
        end
        if not code then
            if not c then
                local o = setmetatable({keep_alive = false}, {__index = options})
                c = client.connect(url, o)
            end
            code, message, headers, body = c:query(method, path, options.headers, data)
            if own then c:close() end
        end
        if not code then
            error(ratchet.error.new("No complete HTTP response from " .. url, "ECONNCLOSED",
                "ratchet.http.client.fetch()"), 0)
        end
        local location = REDIRECTS[code] and rawget(headers, "location")
        if not location or follow <= 0 then
            return code, message, headers, body
        end
        follow = follow - 1
        url = resolve(url, location[1])
        options = setmetatable({client = false}, {__index = options})
        if code == 303 or ((code == 301 or code == 302) and method == "POST") then
            method, data = method == "HEAD" and "HEAD" or "GET", nil
        end
    end
end

ratchet.http = ratchet.http or {}
ratchet.http.client = client
return client
