---@meta ratchet.worker
-- LuaCATS definitions (docs: docs/worker.md).

-- runtime: ratchet.worker
---This process's place among the workers of `ratchet-lua -w N`, and the graceful stop.
---@class ratchet.worker
---@field generation integer 1, then one more per SIGHUP reload.
local worker = {}

---This worker's slot, 1 to `count()` (1 without `-w`).
---@return integer
function worker.id() end

---The number of workers (1 without `-w`).
---@return integer
function worker.count() end

---Whether a supervisor (`-w`) runs this process.
---@return boolean
function worker.supervised() end

---Seconds a graceful stop may take (`--drain-timeout`, default 30).
---@return number
function worker.drain_timeout() end

---Whether the stop has begun.
---@return boolean
function worker.stopping() end

---Begins the stop, as SIGTERM would.
function worker.stop() end

---Runs `fn()` in a new thread when the stop (SIGTERM/SIGINT) begins; returns `cancel()`.
---@param fn fun()
---@return fun() cancel
function worker.on_stop(fn) end

return worker
