-- ratchet.http.client: HTTP/1.1 requests on a connected socket (the reference's
-- new(socket):query(...)), persistent connections, chunked bodies both ways, HTTPS through
-- ratchet.ssl, and fetch(url, options) for one request in one call.
require "ratchet"
local common = require "ratchet.http.common"
local pool = require "ratchet.http.pool"
local default_pool = require "ratchet.http.default_pool"

local find, sub, byte, upper, lower, format, match = string.find, string.sub, string.byte,
    string.upper, string.lower, string.format, string.match
local concat = table.concat
local parse_fields, has_token = common.parse_fields, common.has_token
local now = ratchet.now

local client = {}
client.__index = client

client.defaults = {
    max_header_bytes = 65536,
    max_headers = 200,
    max_body_bytes = 64 * 1024 * 1024,
}

local RECV_SIZE = 65536
-- 1xx responses skipped before a final one; more is a misbehaving server.
local MAX_INTERIM = 100

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
        protocol = "http/1.1",
        received = 0,      -- bytes received during the current query
    }, client)
    for k, v in pairs(client.defaults) do self[k] = options[k] or v end
    if options.timeout then socket:set_timeout(options.timeout) end
    return self
end

-- With a deadline (fetch's timeout), every wait is bounded by what is left of it, so that
-- a server trickling bytes or 1xx responses cannot hold the request past it.
local function bound_wait(self)
    local deadline = self.deadline
    if deadline then
        local left = deadline - now()
        if left <= 0 then
            error(ratchet.error.new("Timed out waiting for the HTTP response.", "ETIMEDOUT",
                "ratchet.http.client.query()"), 0)
        end
        self.socket:set_timeout(left)
    end
end

local function recv(self)
    bound_wait(self)
    local d = self.socket:recv(RECV_SIZE)
    self.received = self.received + #d
    return d
end

local function send_all(self, data)
    bound_wait(self)
    local sock = self.socket
    local rest = sock:send(data)
    while rest do
        bound_wait(self)
        rest = sock:send(rest)
    end
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

-- What may not go onto the wire in a request head: a method or header name that is not a
-- token, a target with spaces or control characters, a header value with control
-- characters other than tab (CR/LF would end the line and smuggle in a second request).
local TOKEN_ONLY = "^" .. common.TOKEN .. "+$"
local function refuse(what, value)
    error(format("ratchet.http.client: invalid %s %q (control characters or a bad token)", what,
        tostring(value)), 4)
end

-- The request head (and a string body) as one string.
local function build_request(self, method, uri, headers, data)
    if not find(method, TOKEN_ONLY) then refuse("method", method) end
    if find(uri, "[%z\1-\32\127]") or uri == "" then refuse("request target", uri) end
    if find(self.host, "[%z\1-\32\127]") then refuse("host", self.host) end
    local out, n = {method, " ", uri, " HTTP/1.1\r\n"}, 4
    local has_host, has_length, has_te, has_conn
    if headers then
        for name, values in pairs(headers) do
            if type(name) ~= "string" or not find(name, TOKEN_ONLY) then refuse("header name", name) end
            local lname = common.lower_name(name)
            if lname == "host" then has_host = true
            elseif lname == "content-length" then has_length = true
            elseif lname == "transfer-encoding" then has_te = true
            elseif lname == "connection" then has_conn = true end
            if type(values) ~= "table" then values = {values} end
            for i = 1, #values do
                local v = tostring(values[i])
                if find(v, "[%z\1-\8\10-\31\127]") then refuse("value of header " .. name, v) end
                n = n + 1; out[n] = name .. ": " .. v .. "\r\n"
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
    return common.fill(self, need, recv)
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
        local at, why = fill_until(self, "\r\n", 1024)
        if not at then return nil, why end
        local hex = match(self.buf, "^(%x+)", self.pos)
        if not hex or #hex > 12 then return nil, "malformed chunk size" end
        local size = tonumber(hex, 16)
        self.pos = at + 2
        if size == 0 then
            -- trailers up to an empty line
            while true do
                local e, why2 = fill_until(self, "\r\n", self.max_header_bytes)
                if not e then return nil, why2 end
                if e == self.pos then self.pos = e + 2; break end
                if not parse_fields(self.buf, self.pos, e + 2, headers, self.max_headers, true) then
                    return nil, "malformed trailer"
                end
                self.pos = e + 2
            end
            return concat(parts, "", 1, n)
        end
        total = total + size
        if total > self.max_body_bytes then return nil, "body over max_body_bytes" end
        if not fill(self, size + 2) then return nil, "closed" end
        local pos = self.pos
        if byte(self.buf, pos + size) ~= 13 or byte(self.buf, pos + size + 1) ~= 10 then
            return nil, "no CRLF after chunk data"
        end
        n = n + 1; parts[n] = sub(self.buf, pos, pos + size - 1)
        self.pos = pos + size + 2
    end
end

-- The body length given by Content-Length values: one decimal number, repeated values only
-- when they all agree (RFC 9110 8.6); nil and a reason otherwise.
local function content_length(values)
    local len
    for i = 1, #values do
        for item in (values[i] .. ","):gmatch("([^,]*),") do
            local digits = match(item, "^[ \t]*(%d+)[ \t]*$")
            if not digits or #digits > 15 then return nil, "malformed Content-Length" end
            local v = tonumber(digits)
            if len and v ~= len then return nil, "conflicting Content-Length values" end
            len = v
        end
    end
    return len
end

-- Reads one response: code, reason, headers, data, keep (can the connection be reused?);
-- nil and why when no complete, well-formed response came.
local function read_response(self, method)
    for _ = 1, MAX_INTERIM + 1 do
        local he, why = fill_until(self, "\r\n\r\n", self.max_header_bytes)
        if not he then return nil, why end
        local buf, pos = self.buf, self.pos
        local _, _, major, minor, code, reason, line_end =
            find(buf, "^HTTP/(%d)%.(%d) (%d%d%d) ?([^\r\n]*)\r\n()", pos)
        if not code then return nil, "malformed status line" end
        local headers = common.new_headers()
        if not parse_fields(buf, line_end, he + 2, headers, self.max_headers, true) then
            return nil, "malformed header block"
        end
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
                data, why = read_chunked(self, headers)
                if not data then return nil, why end
            elseif cl then
                local len
                len, why = content_length(cl)
                if not len then return nil, why end
                if len > self.max_body_bytes then return nil, "body over max_body_bytes" end
                if not fill(self, len) then return nil, "closed" end
                data = sub(self.buf, self.pos, self.pos + len - 1)
                self.pos = self.pos + len
            else
                -- the body ends with the connection
                local parts, n, total = {sub(self.buf, self.pos)}, 1, #self.buf - self.pos + 1
                while true do
                    local d = recv(self)
                    if d == "" then break end
                    total = total + #d
                    if total > self.max_body_bytes then return nil, "body over max_body_bytes" end
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
    return nil, "more than " .. MAX_INTERIM .. " interim (1xx) responses"
end

--- query(command, uri, headers, data) → code, reason, headers, data; nothing if no complete
-- response came (then `client.failure` says why). `headers` maps names to a value or an
-- array of values; `data` is a string, or a function returning successive pieces (sent
-- chunked) and nil at the end. Control characters in the command, uri or headers raise.
function client:query(command, uri, headers, data)
    if self.closed then error("ratchet.http.client: the connection is closed", 2) end
    local method = upper(command)
    local head, chunked = build_request(self, method, uri or "/", headers, data)
    self.received, self.failure = 0, nil
    local ok, code, reason, rheaders, body, keep = pcall(function()
        send_all(self, head)
        if type(data) == "function" then
            while true do
                local piece = data()
                if piece == nil then break end
                piece = tostring(piece)
                if piece ~= "" then
                    send_all(self, chunked and (format("%x\r\n", #piece) .. piece .. "\r\n") or piece)
                end
            end
            if chunked then send_all(self, "0\r\n\r\n") end
        end
        return read_response(self, method)
    end)
    if not ok then
        self:close()
        error(code, 0)
    end
    if not code or not keep or not self.keep_alive then self:close() end
    if not code then
        self.failure = reason
        return
    end
    return code, reason, rheaders, body
end

--- usable() → whether an idle kept-alive connection can take another request: nothing
-- unread is buffered, and the server has neither closed it nor sent anything since (one
-- recv that must time out at once).
function client:usable()
    if self.closed or self.pos <= #self.buf then return false end
    local sock = self.socket
    sock:set_timeout(0)
    local ok, err = pcall(sock.recv, sock, 1)
    if ok then return false end      -- "" (closed) or bytes nobody asked for
    return ratchet.error.is(err, "ETIMEDOUT")
end

-- URL → scheme, host (no brackets), port, path (with the query), host header value.
local function parse_url(url)
    if type(url) ~= "string" then return nil, "the URL must be a string, not " .. type(url) end
    if find(url, "[%z\1-\32\127]") then
        return nil, format("spaces or control characters in URL %q (percent-encode them)", url)
    end
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

-- Methods that may be sent again when a reused connection turned out closed before any
-- response byte came (RFC 9110 9.2.2).
local IDEMPOTENT = {GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true, TRACE = true}

--- pool(options) → a connection pool for fetch's `pool` option; see ratchet.http.pool.
client.pool = pool.new
--- The pool fetch uses unless told otherwise: the running kernel's own (ratchet.http.default_pool).
client.default_pool = default_pool.proxy

-- The pool key of a URL's connection: everything that makes a connection unfit for another
-- request (where it goes, how it is verified, the address family). Other protocols (h2 by
-- ALPN) can add to it.
local function pool_key(scheme, host, port, options)
    local key = scheme .. "://" .. host .. ":" .. port .. "|" .. tostring(options.family)
    if scheme == "https" then
        key = key .. "|" .. tostring(options.ssl_context or options.tls) .. "|" ..
            tostring(options.ca_file) .. "|" .. tostring(options.ca_path) .. "|" .. tostring(options.verify ~= false)
    end
    return key
end
client.pool_key = pool_key

local function url_key(url, options)
    local scheme, host, port = parse_url(url)
    return pool_key(scheme, host, port, options)
end

local function timed_out(url)
    return ratchet.error.new("Timed out fetching " .. url, "ETIMEDOUT", "ratchet.http.client.fetch()")
end
client.timed_out = timed_out

-- A new connection for fetch, its waits bounded by the deadline.
local function open(url, options, keep_alive, deadline)
    local timeout = options.timeout
    if deadline then
        timeout = deadline - now()
        if timeout <= 0 then error(timed_out(url), 0) end
    end
    return client.connect(url, setmetatable({keep_alive = keep_alive, timeout = timeout}, {__index = options}))
end
client.open = open

-- One request for fetch: on a pooled connection when there is one (retried once on a new
-- connection if the server had closed it before answering), else on a new one; with a pool,
-- in a slot of its limits (the lease, closed on any failure: the slot is freed).
local function exchange(url, options, the_pool, method, path, headers, data, deadline)
    local lease <close> = the_pool and the_pool:acquire(url_key(url, options), client.usable,
        deadline and deadline - now())
    local c = lease and lease.conn
    local reused = c ~= nil
    while true do
        if c then
            c.socket:set_timeout(options.timeout or -1)
        else
            c = open(url, options, the_pool and true or false, deadline)
            if lease then
                lease.conn, c.pool_key = c, lease.key
                the_pool.connects = the_pool.connects + 1
            end
        end
        c.deadline = deadline
        local ok, code, message, rheaders, body = pcall(c.query, c, method, path, headers, data)
        c.deadline = nil
        if reused and c.received == 0 and IDEMPOTENT[method] and type(data) ~= "function" and
                (ok and not code or not ok and common.is_connection_error(code) and
                 not ratchet.error.is(code, "ETIMEDOUT")) then
            c:close()
            c, reused = nil, false
            if lease then lease.conn = nil end
        else
            if not ok then
                c:close()
                error(code, 0)
            end
            if lease then the_pool:release(lease) elseif not c.closed then c:close() end
            return code, message, rheaders, body, c.failure
        end
    end
end

-- The origin (scheme, host, port) of a URL, for comparing two URLs.
local function origin(url)
    local scheme, host, port = parse_url(url)
    if not scheme then return url end
    return scheme .. "://" .. host .. ":" .. port
end

local CREDENTIALS = {authorization = true, cookie = true, ["proxy-authorization"] = true}

-- The request headers without credentials, for a redirect to another origin.
local function without_credentials(headers)
    if not headers then return nil end
    local out = {}
    for name, values in pairs(headers) do
        if type(name) ~= "string" or not CREDENTIALS[lower(name)] then out[name] = values end
    end
    return out
end

--- fetch(url, options) → code, message, headers, data: one request, on a kept-alive
-- connection from a pool (client.default_pool unless options.pool says otherwise; false: a
-- new connection, closed afterwards).
-- options: method (default "GET"), headers, data, timeout (seconds for the whole fetch,
-- redirects included), redirects (how many to follow; default 0: a redirect is returned as
-- it is), pool, client (a client from connect() to send the request on instead, kept
-- open), and the HTTPS options of connect(). Raises on connection failures; raises an
-- ECONNCLOSED ratchet error when no complete response arrives, EPROTO for a malformed one.
function client.fetch(url, options)
    options = options or {}
    local method = upper(options.method or "GET")
    local data = options.data
    local headers = options.headers
    local follow = options.redirects
    if follow == true then follow = 5 end
    follow = tonumber(follow) or 0
    local deadline = options.timeout and now() + options.timeout
    local the_pool = options.pool
    if the_pool == nil then the_pool = client.default_pool end
    if the_pool == default_pool.proxy then the_pool = default_pool.get() end
    local c = options.client
    while true do
        local scheme, problem, _, path = parse_url(url)
        if not scheme then error(problem, 2) end
        local code, message, rheaders, body, failure
        if c then
            c.deadline = deadline
            local ok
            ok, code, message, rheaders, body = pcall(c.query, c, method, path, headers, data)
            c.deadline = nil
            if not ok then error(code, 0) end
            failure = c.failure
        else
            -- HTTP/2 where it applies (ALPN on https, prior knowledge on request): h2_client.lua
            if options.http2 ~= false then
                code, message, rheaders, body = require("ratchet.http.h2_client").fetch(url, method,
                    headers, data, options, the_pool, deadline)
            end
            if not code then
                code, message, rheaders, body, failure = exchange(url, options, the_pool, method, path,
                    headers, data, deadline)
            end
        end
        if not code then
            if failure == "closed" or failure == nil then
                error(ratchet.error.new("No complete HTTP response from " .. url, "ECONNCLOSED",
                    "ratchet.http.client.fetch()"), 0)
            end
            error(ratchet.error.new("Bad HTTP response from " .. url .. ": " .. failure, "EPROTO",
                "ratchet.http.client.fetch()"), 0)
        end
        local location = REDIRECTS[code] and rawget(rheaders, "location")
        if not location or follow <= 0 then
            return code, message, rheaders, body
        end
        follow = follow - 1
        local target = resolve(url, location[1])
        if origin(target) ~= origin(url) then headers = without_credentials(headers) end
        url, c = target, nil
        if code == 303 or ((code == 301 or code == 302) and method == "POST") then
            method, data = method == "HEAD" and "HEAD" or "GET", nil
        end
    end
end

ratchet.http = ratchet.http or {}
ratchet.http.client = client
return client
