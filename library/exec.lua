---@meta ratchet.exec
-- LuaCATS definitions (docs: docs/exec.md).

-- runtime: ratchet.exec
---Child processes with yielding pipes.
---@class ratchet.exec
local exec = {}

---A process to start; `argv[1]` is looked up on PATH.
---@param argv string[]
---@return ratchet.exec.Process
function exec.new(argv) end

-- metatable: ratchet_exec_meta
---@class ratchet.exec.Process
local Process = {}

---The very table given to `new`.
---@return string[]
function Process:get_argv() end

---Starts the child (stdin, stdout and stderr are pipes).
---@return integer pid
function Process:start() end

---`os.time()`-style seconds when it was started; nil before.
---@return integer?
function Process:get_start_time() end

---@return ratchet.exec.Writer
function Process:stdin() end

---@return ratchet.exec.Reader
function Process:stdout() end

---@return ratchet.exec.Reader
function Process:stderr() end

---Waits until the child exits and reaps it: `code, true`, or `signal, false`.
---@async
---@param timeout? number
---@return integer? status
---@return boolean? exited_normally
function Process:wait(timeout) end

---Sends a signal (number or name, default SIGTERM).
---@param signal? integer|string
---@return true
function Process:kill(signal) end

---Writes `input`, reads stdout and stderr to their end, then waits.
---@async
---@param input? string
---@return string stdout
---@return string stderr
---@return integer status
---@return boolean exited_normally
function Process:communicate(input) end

-- metatable: ratchet_exec_communication_meta
---@class ratchet.exec.Communication

-- metatable: ratchet_exec_reader_meta
---@class ratchet.exec.Reader
local Reader = {}

---The parent's end of the pipe (-1 once closed).
---@return integer
function Reader:get_fd() end

---Up to `maxlen` bytes; `""` at end of file.
---@async
---@param maxlen? integer Default 8192.
---@return string
function Reader:read(maxlen) end

---@return true?
function Reader:close() end

-- metatable: ratchet_exec_writer_meta
---@class ratchet.exec.Writer
local Writer = {}

---@return integer
function Writer:get_fd() end

---Writes all of `data`.
---@async
---@param data string
function Writer:write(data) end

---Closes stdin: the child sees end of input.
---@return true?
function Writer:close() end
