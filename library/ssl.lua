---@meta ratchet.ssl
-- LuaCATS definitions (docs: docs/ssl.md).

-- runtime: ratchet.ssl
---TLS 1.2/1.3 on OpenSSL 3.
---@class ratchet.ssl
---@field SSLv3 lightuserdata Version-flexible generic method (the original's name).
---@field SSLv3_server lightuserdata
---@field SSLv3_client lightuserdata
---@field TLSv1 lightuserdata
---@field TLSv1_server lightuserdata
---@field TLSv1_client lightuserdata
---@field TLS lightuserdata
---@field TLS_server lightuserdata
---@field TLS_client lightuserdata
local ssl = {}

---A TLS context (certificates, CAs, verification, ALPN).
---@param method? lightuserdata One of the method constants (default `SSLv3`).
---@param password? string Default password for encrypted keys.
---@return ratchet.ssl.Context
function ssl.new(method, password) end

-- metatable: ratchet_ssl_ctx_meta
---@class ratchet.ssl.Context
local Context = {}

---A PEM certificate chain (leaf first) and its private key.
---@param chainfile string
---@param keyfile? string Default `chainfile`.
---@param password? string
function Context:load_certs(chainfile, keyfile, password) end

---Trusted CAs from a hashed directory and/or a PEM file.
---@param ca_path? string
---@param ca_file? string
---@param depth? integer
function Context:load_cas(ca_path, ca_file, depth) end

---Trusts the system CA store.
function Context:load_default_verify_paths() end

---@param mode? "none"|"peer"|"fail"|"once"
function Context:set_verify_mode(mode) end

---true: require a verified peer; false: verify nothing during the handshake.
---@param on boolean
function Context:set_verify(on) end

---ALPN protocol names, most preferred first (`{}` clears).
---@param protocols string[]
function Context:set_alpn(protocols) end

---Chooses the server context by the SNI name: a function, a name → context table, or nil.
---@param f? (fun(name: string): ratchet.ssl.Context?)|table<string, ratchet.ssl.Context>
function Context:set_servername_callback(f) end

---Limits the protocol versions.
---@param min "TLSv1.2"|"TLSv1.3"
---@param max? "TLSv1.2"|"TLSv1.3"
function Context:set_protocols(min, max) end

---Replaces the TLS 1.2 cipher list, the TLS 1.3 suites and the groups (nil keeps a part).
---@param ciphers? string
---@param ciphersuites? string
---@param groups? string
function Context:set_ciphers(ciphers, ciphersuites, groups) end

---Seeds OpenSSL's generator from a file (rarely useful today).
---@param file? string
---@param max_bytes? integer
function Context:load_randomness(file, max_bytes) end

---Parameters for the finite-field DHE suites.
---@param pemfile string
function Context:load_dh_params(pemfile) end

---Does nothing (kept for the original's API).
function Context:generate_tmp_rsa() end

---A session over `socket` that the socket does not route through.
---@param socket ratchet.socket.Socket
---@param pending? string
---@return ratchet.ssl.Session
function Context:create_session(socket, pending) end

-- metatable: ratchet_ssl_session_meta
---@class ratchet.ssl.Session
local Session = {}

---Runs the client handshake; `host` is sent as SNI and checked when verifying.
---@async
---@param host? string
function Session:client_handshake(host) end

---Same as `client_handshake`.
---@async
---@param host? string
function Session:connect(host) end

---Runs the server handshake.
---@async
function Session:server_handshake() end

---Same as `server_handshake`.
---@async
function Session:accept() end

---Reads decrypted data; `""` after the peer's close_notify.
---@async
---@param maxlen? integer
---@return string
function Session:read(maxlen) end

---Writes all of `data`.
---@async
---@param data string
function Session:write(data) end

---Sends close_notify and (unless `wait` is false) waits for the peer's.
---@async
---@param wait? boolean Default true.
---@return boolean clean
function Session:shutdown(wait) end

---@param host? string
---@return boolean got_cert
---@return boolean verified
---@return boolean? host_matched
function Session:verify_certificate(host) end

---The negotiated cipher's name.
---@return string?
function Session:get_cipher() end

---The peer certificate's subject in RFC 2253 form.
---@return string?
function Session:get_rfc2253() end

---`{subject=, issuer=, sans=, not_before=, not_after=, serial=}` or nil.
---@return table?
function Session:get_peer_certificate() end

---The SNI name a client sends.
---@param host string
function Session:set_servername(host) end

---The SNI name (a server: the one the client asked for).
---@return string?
function Session:get_servername() end

---The protocol ALPN chose, or nil.
---@return string?
function Session:get_alpn() end

---@return "TLSv1.2"|"TLSv1.3"|string
function Session:get_protocol() end

---The socket under the session.
---@return ratchet.socket.Socket
function Session:get_engine() end
