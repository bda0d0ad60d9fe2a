---@meta ratchet.zmqsocket
-- LuaCATS definitions (docs: docs/zmqsocket.md).

-- runtime: ratchet.zmqsocket
---ZeroMQ 4 sockets.
---@class ratchet.zmqsocket
local zmqsocket = {}

---@alias ratchet.zmqsocket.type "PAIR"|"PUB"|"SUB"|"REQ"|"REP"|"DEALER"|"ROUTER"|"PULL"|"PUSH"|"XPUB"|"XSUB"|"STREAM"|string

---A socket of `type` (default `"PAIR"`).
---@param type? ratchet.zmqsocket.type
---@return ratchet.zmqsocket.Socket
function zmqsocket.new(type) end

---`{type = ..., endpoint = ...}` from `"type:endpoint"` or `"zmq:type:endpoint"`.
---@param uri string
---@return {type: string, endpoint: string}
function zmqsocket.prepare_uri(uri) end

-- metatable: ratchet_zmqcontext_meta
---@class ratchet.zmqsocket.Context

-- metatable: ratchet_zmqsocket_meta
---@class ratchet.zmqsocket.Socket
local Socket = {}

---@param endpoint string e.g. `"tcp://127.0.0.1:*"`.
---@return true
function Socket:bind(endpoint) end

---@param endpoint string
---@return true
function Socket:connect(endpoint) end

---Sends one message part (`more`: further parts follow).
---@async
---@param data string
---@param more? boolean
---@return true
function Socket:send(data, more) end

---The next part, and whether more parts of the message follow.
---@async
---@return string data
---@return boolean more
function Socket:recv() end

---Every part of the next message, concatenated.
---@async
---@return string
function Socket:recv_all() end

---Bounds every wait of send/recv/recv_all (ETIMEDOUT).
---@param seconds number
function Socket:set_timeout(seconds) end

---@return number
function Socket:get_timeout() end

---@param name string e.g. `"LAST_ENDPOINT"`, `"RCVMORE"`.
---@return any
function Socket:getsockopt(name) end

---@param name string e.g. `"SUBSCRIBE"`, `"LINGER"`.
---@param value any
function Socket:setsockopt(name, value) end

---ZMQ_FD (belongs to libzmq: do not close it).
---@return integer
function Socket:get_fd() end

---@return boolean
function Socket:is_readable() end

---@return boolean
function Socket:is_writable() end

---@return boolean
function Socket:is_rcvmore() end

---@return true?
function Socket:close() end
