-- ratchet.websocket.deflate: the permessage-deflate extension (RFC 7692) of
-- ratchet.websocket. Negotiation (the server answering an offer, the client making one and
-- checking the answer) and, per connection, compressing sent messages and decompressing
-- received ones within the maximum message size, with the raw DEFLATE streams of
-- ratchet.deflate (zlib, Sources/Ratchet/Compression).
require "ratchet"
local zlib = ratchet.deflate

local tointeger, format, concat = math.tointeger, string.format, table.concat

local pmd = {}

-- What an endpoint asks for when its `compression` option is true (the defaults of Python's
-- websockets): a 4 KiB window for the server's compression and, when the client lets the
-- server choose, for the client's; zlib's memory level 5. Per connection that is about 40
-- KiB of zlib state on a server instead of the 300 KiB of zlib's defaults.
pmd.defaults = {
    server = {server_max_window_bits = 12, client_max_window_bits = 12, mem_level = 5},
    client = {mem_level = 5},
}

local BOOLS = {server_no_context_takeover = true, client_no_context_takeover = true}
local BITS = {server_max_window_bits = true, client_max_window_bits = true}

--- config(option, role) → the extension settings of a `compression` option (true or nil:
-- the defaults; a table: its fields over the defaults; false: nil, no compression).
-- Raises for a setting out of range.
function pmd.config(option, role)
    if option == false then return nil end
    if option ~= nil and option ~= true and type(option) ~= "table" then
        error("ratchet.websocket: the compression option is true, false or a table", 0)
    end
    local c = {}
    for k, v in pairs(pmd.defaults[role]) do c[k] = v end
    for k, v in pairs(type(option) == "table" and option or {}) do
        if BITS[k] then
            if v ~= false and not (tointeger(v) and v >= 8 and v <= 15) then
                error("ratchet.websocket: compression." .. k .. " must be 8 to 15 (or false)", 0)
            end
        elseif k == "level" then
            if not (tointeger(v) and v >= -1 and v <= 9) then error("ratchet.websocket: compression.level must be -1 to 9", 0) end
        elseif k == "mem_level" then
            if not (tointeger(v) and v >= 1 and v <= 9) then error("ratchet.websocket: compression.mem_level must be 1 to 9", 0) end
        elseif k == "min_size" then
            if not (tointeger(v) and v >= 0) then error("ratchet.websocket: compression.min_size must be 0 or more", 0) end
        elseif not BOOLS[k] then
            error("ratchet.websocket: unknown compression setting " .. tostring(k), 0)
        end
        c[k] = v or nil
    end
    return c
end

-- The elements of Sec-WebSocket-Extensions header values (RFC 6455 9.1): a list of
-- {name = token, params = {name = value or true}, bad = true when a parameter repeats or
-- a value is malformed}.
local function parse(values)
    local out = {}
    for _, value in ipairs(values or {}) do
        for element in value:gmatch("[^,]+") do
            local name, rest = element:match("^%s*([%w!#$%%&'*+.^_`|~-]+)%s*(.-)%s*$")
            if name then
                local e = {name = name:lower(), params = {}}
                for param in rest:gmatch(";%s*([^;]*)") do
                    local k, v = param:match("^([%w!#$%%&'*+.^_`|~-]+)%s*=%s*(.-)%s*$")
                    if k then
                        v = v:match('^"(.*)"$') or v
                    else
                        k, v = param:match("^([%w!#$%%&'*+.^_`|~-]+)%s*$"), true
                    end
                    if not k or e.params[k:lower()] ~= nil then e.bad = true else e.params[k:lower()] = v end
                end
                out[#out + 1] = e
            end
        end
    end
    return out
end

-- A window-bits value: 8-15 written without leading zeros (RFC 7692 7.1.2).
local function bits(v)
    return type(v) == "string" and v:match("^[1-9]%d?$") and tonumber(v) >= 8 and tonumber(v) <= 15 and tonumber(v)
end

-- The parameters of a permessage-deflate element, checked: a table of the four (booleans
-- and numbers; client_max_window_bits may be true: "offered without a value"), or nil.
local function params_of(e, is_offer)
    if e.bad then return nil end
    local p = {}
    for k, v in pairs(e.params) do
        if BOOLS[k] then
            if v ~= true then return nil end
            p[k] = true
        elseif k == "server_max_window_bits" then
            p[k] = bits(v)
            if not p[k] then return nil end
        elseif k == "client_max_window_bits" then
            p[k] = (is_offer and v == true) or bits(v)
            if not p[k] then return nil end
        else
            return nil
        end
    end
    return p
end

local function header_of(p)
    local h = {"permessage-deflate"}
    for _, k in ipairs({"server_no_context_takeover", "client_no_context_takeover",
                        "server_max_window_bits", "client_max_window_bits"}) do
        local v = p[k]
        if v == true then h[#h + 1] = k elseif v then h[#h + 1] = k .. "=" .. v end
    end
    return concat(h, "; ")
end

--- accept(header_values, config) → the Sec-WebSocket-Extensions response value and the
-- agreed parameters for the first acceptable permessage-deflate offer; nil when there is
-- none (offers with unknown, repeated or malformed parameters are declined, RFC 7692 5.1).
function pmd.accept(values, config)
    for _, e in ipairs(parse(values)) do
        local offer = e.name == "permessage-deflate" and params_of(e, true)
        if offer then
            local a = {
                server_no_context_takeover = offer.server_no_context_takeover or config.server_no_context_takeover,
                client_no_context_takeover = offer.client_no_context_takeover or config.client_no_context_takeover,
            }
            -- our window: at most what the client allows and what we are configured for
            local ours = math.min(offer.server_max_window_bits or 15, config.server_max_window_bits or 15)
            if offer.server_max_window_bits or ours < 15 then a.server_max_window_bits = ours end
            -- the client's: it may only be limited when the client said it can be
            local cb = offer.client_max_window_bits
            if cb then
                local limit = config.client_max_window_bits
                if limit then
                    a.client_max_window_bits = math.min(limit, cb == true and 15 or cb)
                elseif cb ~= true then
                    a.client_max_window_bits = cb
                end
            end
            return header_of(a), a
        end
    end
    return nil
end

--- offer(config) → the Sec-WebSocket-Extensions request value of a client.
function pmd.offer(config)
    return header_of({
        server_no_context_takeover = config.server_no_context_takeover,
        client_no_context_takeover = config.client_no_context_takeover,
        server_max_window_bits = config.server_max_window_bits,
        client_max_window_bits = config.client_max_window_bits or true,
    })
end

--- agree(header_values, config) → the agreed parameters of the server's answer to offer(config);
-- or nil, why when the answer is not one the offer allows (the client then fails the
-- handshake, RFC 7692 5.1).
function pmd.agree(values, config)
    local list = parse(values)
    if #list ~= 1 or list[1].name ~= "permessage-deflate" then
        return nil, "the server chose an extension that was not offered"
    end
    local a = params_of(list[1], false)
    if not a then return nil, "invalid permessage-deflate parameters from the server" end
    if config.server_no_context_takeover and not a.server_no_context_takeover then
        return nil, "the server ignored server_no_context_takeover"
    end
    local sb = config.server_max_window_bits
    if sb and not (a.server_max_window_bits and a.server_max_window_bits <= sb) then
        return nil, "the server ignored server_max_window_bits=" .. sb
    end
    local cb = config.client_max_window_bits
    if a.client_max_window_bits and cb and a.client_max_window_bits > cb then
        return nil, "the server raised client_max_window_bits"
    end
    a.client_max_window_bits = a.client_max_window_bits or cb
    return a
end

------------------------------------------------------------------------------------------
-- Per connection

local stream = {}
stream.__index = stream

--- new(agreed, role, config) → the compression state of one connection: the agreed
-- parameters seen from `role`. zlib's streams are made on first use.
function pmd.new(agreed, role, config)
    local mine, theirs = "server_", "client_"
    if role == "client" then mine, theirs = theirs, mine end
    return setmetatable({
        -- a sender may always start each message afresh; the agreement may oblige it to
        send_reset = agreed[mine .. "no_context_takeover"] or config[mine .. "no_context_takeover"] or false,
        recv_reset = agreed[theirs .. "no_context_takeover"] or false,
        send_bits = agreed[mine .. "max_window_bits"] or 15,
        -- zlib's raw inflate wants at least 9 bits for what a 9-bit deflate made
        recv_bits = math.max(agreed[theirs .. "max_window_bits"] or 15, 9),
        level = config.level, mem_level = config.mem_level, min_size = config.min_size or 0,
    }, stream)
end

--- compress(message) → the payload of a compressed message; nil to send it as it is: when
-- it is shorter than min_size, or when the agreed window is 8 bits, which zlib's raw
-- deflate cannot make (a message may always go uncompressed, RFC 7692 6).
function stream:compress(message)
    if #message < self.min_size or self.send_bits < 9 then return nil end
    local d = self.deflater
    if not d then
        d = zlib.deflater(self.send_bits, self.level, self.mem_level)
        self.deflater = d
    end
    local payload = d:compress(message)
    if self.send_reset then d:reset() end
    return payload
end

--- decompress(payload, limit, final) → the data of one frame of a compressed message, at
-- most `limit` bytes; or nil, close code, reason: 1009 past the limit (decompression stops
-- there), 1007 for data that is not DEFLATE.
function stream:decompress(payload, limit, final)
    local i = self.inflater
    if not i then
        i = zlib.inflater(self.recv_bits)
        self.inflater = i
    end
    local data, why, detail = i:decompress(payload, limit, final)
    if not data then
        if why == "limit" then return nil, 1009, format("message over %d bytes (decompressed)", limit) end
        return nil, 1007, "invalid compressed data: " .. tostring(detail)
    end
    if final and self.recv_reset then i:reset() end
    return data
end

pmd.parse = parse
return pmd
