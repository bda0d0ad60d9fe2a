---@meta ratchet.socket
-- LuaCATS definitions (docs: docs/socket.md).

-- runtime: ratchet.socket
---Non-blocking BSD sockets whose blocking calls suspend only the calling ratchet thread.
---@class ratchet.socket
local socket = {}

-- metatable: ratchet_socket_sockaddr_meta
---An address from a `prepare_*` record or `accept`; `tostring` gives the IP or path.
---@class ratchet.sockaddr
---@field port? integer The port of an AF_INET/AF_INET6 address.

---What `prepare_tcp`, `prepare_udp` and `prepare_unix` return.
---@class ratchet.socket.record
---@field family integer AF_INET=2, AF_INET6=10, AF_UNIX=1.
---@field socktype integer SOCK_STREAM=1, SOCK_DGRAM=2.
---@field protocol integer
---@field host? string The host as given.
---@field addr ratchet.sockaddr

---Creates a non-blocking, close-on-exec socket (defaults AF_INET, SOCK_STREAM, 0).
---@param family? integer
---@param socktype? integer
---@param protocol? integer
---@return ratchet.socket.Socket
function socket.new(family, socktype, protocol) end

---`socketpair()`; defaults AF_UNIX, SOCK_STREAM, 0.
---@param family? integer
---@param socktype? integer
---@param protocol? integer
---@return ratchet.socket.Socket a
---@return ratchet.socket.Socket b
function socket.new_pair(family, socktype, protocol) end

---Wraps an existing descriptor and takes ownership of it.
---@param fd integer
---@return ratchet.socket.Socket
function socket.from_fd(fd) end

---Resolves a TCP host and port (literals, hosts file, DNS) into a record.
---@async
---@param host string
---@param port integer|string
---@param family? "AF_UNSPEC"|"AF_INET"|"AF_INET6"
---@return ratchet.socket.record
function socket.prepare_tcp(host, port, family) end

---As `prepare_tcp` for UDP; returns nothing when the host has no address.
---@async
---@param host string
---@param port integer|string
---@param family? "AF_UNSPEC"|"AF_INET"|"AF_INET6"
---@return ratchet.socket.record?
function socket.prepare_udp(host, port, family) end

---A record for a UNIX socket path.
---@param path string
---@return ratchet.socket.record
function socket.prepare_unix(path) end

---Waits until one of the sockets has data (or EOF) and returns `recv()` of it.
---@async
---@param sockets ratchet.socket.Socket[]
---@param timeout? number Seconds.
---@return string? data `""` when that socket's peer closed; nil after the timeout.
---@return ratchet.socket.Socket? from
function socket.multi_recv(sockets, timeout) end

---A 4-byte big-endian string to an unsigned integer (nil for another length).
---@param str string
---@param ... any Returned unchanged after the result.
---@return integer?
---@return any ...
function socket.ntoh(str, ...) end

---An unsigned integer to a 4-byte big-endian string.
---@param n integer
---@param ... any Returned unchanged after the result.
---@return string
---@return any ...
function socket.hton(n, ...) end

---A 2-byte big-endian string to an unsigned integer (nil for another length).
---@param str string
---@param ... any
---@return integer?
---@return any ...
function socket.ntoh16(str, ...) end

---An unsigned integer to a 2-byte big-endian string.
---@param n integer
---@param ... any
---@return string
---@return any ...
function socket.hton16(n, ...) end

---The host name.
---@return string
function socket.gethostname() end

-- metatable: ratchet_socket_meta
---A socket. `__eq` compares descriptors; `__gc`/`__close` close it.
---@class ratchet.socket.Socket
local Socket = {}

---The descriptor (-1 after close).
---@return integer
function Socket:get_fd() end

---The timeout of every blocking call in seconds (-1: none).
---@return number
function Socket:get_timeout() end

---Sets the timeout of every blocking call (negative or math.huge: none).
---@param seconds number
function Socket:set_timeout(seconds) end

---@param addr ratchet.sockaddr
---@return true
function Socket:bind(addr) end

---@param backlog? integer Default SOMAXCONN.
---@return true
function Socket:listen(backlog) end

---Waits for a connection.
---@async
---@return ratchet.socket.Socket client
---@return ratchet.sockaddr from
function Socket:accept() end

---Connects, waiting for the outcome (honouring the timeout).
---@async
---@param addr ratchet.sockaddr
function Socket:connect(addr) end

---One send once the socket is writable.
---@async
---@param data string
---@return string? rest The part not sent, or nothing when all was sent.
function Socket:send(data) end

---Waits for data; `""` when the peer has shut down or closed.
---@async
---@param maxlen? integer Default 8192, at most 1 MiB.
---@return string
function Socket:recv(maxlen) end

---@param how? "read"|"write"|"both"
---@return true
function Socket:shutdown(how) end

---Closes the socket, waking any thread waiting on it.
---@return true?
function Socket:close() end

---Raises the pending SO_ERROR, if any.
---@return true
function Socket:check_errors() end

---Calls `func(event, data)` on socket events; nil removes it.
---@param func? fun(event: string, data: any)
function Socket:set_tracer(func) end

---@param name string e.g. `"SO_REUSEADDR"`, `"TCP_NODELAY"`.
---@return any
function Socket:getsockopt(name) end

---@param name string
---@param value any
function Socket:setsockopt(name, value) end

---Puts a TLS session on the socket (no handshake yet).
---@param ctx ratchet.ssl.Context
---@param pending? string Bytes already received that belong to TLS.
---@return ratchet.ssl.Session
function Socket:encrypt(ctx, pending) end

---The TLS session installed by `encrypt`, or nil.
---@return ratchet.ssl.Session?
function Socket:get_encryption() end

---The local address: ip, port — or the path for AF_UNIX.
---@return string ip
---@return integer? port
function Socket:getsockname() end

---The peer's address: ip, port — or the path for AF_UNIX.
---@return string ip
---@return integer? port
function Socket:getpeername() end

---Sends one datagram to `addr`.
---@async
---@param data string
---@param addr ratchet.sockaddr
function Socket:sendto(data, addr) end

---Receives one datagram.
---@async
---@param maxlen? integer
---@return string data
---@return ratchet.sockaddr from
function Socket:recvfrom(maxlen) end
