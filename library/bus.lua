---@meta ratchet.bus
-- LuaCATS definitions (docs: docs/bus.md).

-- runtime: ratchet.bus
---Request/response message bus, local or over sockets.
---@class ratchet.bus
local bus = {}

---A bus inside one process; both results are the same object.
---@return ratchet.bus.Local
---@return ratchet.bus.Local
function bus.new_local() end

---A bus server on a listening socket.
---@param listening_socket ratchet.socket.Socket
---@param request_from_bus? fun(part1: string, attachments: string[], from: any): any
---@param response_to_bus? fun(response: any): string, string[]?
---@return ratchet.bus.Server
function bus.new_server(listening_socket, request_from_bus, response_to_bus) end

---A bus client on a connected socket.
---@param connected_socket ratchet.socket.Socket
---@param request_to_bus? fun(request: any): string, string[]?
---@param response_from_bus? fun(part1: string, attachments: string[]): any
---@return ratchet.bus.Client
function bus.new_client(connected_socket, request_to_bus, response_from_bus) end

---@class ratchet.bus.Local
local Local = {}

---Queues a request (or hands it to a waiting thread).
---@param request any
---@return ratchet.bus.Transaction
function Local:send_request(request) end

---Waits for the next request.
---@async
---@return ratchet.bus.Transaction
---@return any request
function Local:recv_request() end

---@class ratchet.bus.Server
local Server = {}

---Accepts connections and returns the first complete request.
---@async
---@return ratchet.bus.Transaction?
---@return any request
function Server:recv_request() end

---@class ratchet.bus.Client
local Client = {}

---Sends `request` as one frame.
---@async
---@param request any
---@return ratchet.bus.Transaction
function Client:send_request(request) end

---@class ratchet.bus.Transaction
---@field request any
---@field from? any
local Transaction = {}

---Sends (or stores) the response.
---@async
---@param response any
function Transaction:send_response(response) end

---Waits for the response.
---@async
---@return any
function Transaction:recv_response() end
