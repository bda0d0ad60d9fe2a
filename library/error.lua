---@meta ratchet.error
-- LuaCATS definitions (docs: docs/error.md).

-- runtime: ratchet.error
---Structured errors: every failure of the library is raised as one.
---@class ratchet.error
local error_module = {}

-- metatable: ratchet_error_meta
---A raised ratchet error (a table with a metatable).
---@class ratchet.error.object
---@field type "ratchet_error"
---@field description string e.g. `"Connection refused"`.
---@field code? string Symbolic: `"ECONNREFUSED"`, `"ETIMEDOUT"`, `"DEADLOCK"`, `"ALARM"`, ...
---@field function? string e.g. `"ratchet.socket.connect()"` (read it as `err["function"]`).
---@field file? string Where the Lua code made the failing call.
---@field line? integer
---@field syscall? string e.g. `"connect"`.
---@field errno? integer The number, for errno errors.
---@field thread? thread The coroutine that raised it.
local object = {}

---Builds a new error (it is returned, not raised).
---@param description string
---@param code? string
---@param func? string
---@param file? string
---@param line? integer
---@param syscall? string
---@param errno? integer
---@return ratchet.error.object
function error_module.new(description, code, func, file, line, syscall, errno) end

---For ratchet errors: whether `err.code == code`; for strings: equality.
---@param err any
---@param code? string
---@return boolean
function error_module.is(err, code) end

---Whether this error's code is `code`.
---@param code? string
---@return boolean
function object:is(code) end

---`"func: description"`, else `"file:line: description"`.
---@return string
function object:get_string() end
