---@meta ratchet
-- LuaCATS definitions for lua-language-server (docs: docs/ratchet.md). Checked against the
-- module and the docs by Tests/lua/test_luacats_definitions.lua.

-- runtime: ratchet
---The ratchet module: `require "ratchet"` (also the global `ratchet`).
---@class ratchet
---@field version string This project's version, e.g. `"1.0.0"`.
---@field error ratchet.error
---@field thread ratchet.thread
---@field socket ratchet.socket
---@field dns ratchet.dns
---@field ssl ratchet.ssl
---@field zmqsocket ratchet.zmqsocket
---@field exec ratchet.exec
---@field timerfd ratchet.timerfd
ratchet = {}

---Creates a kernel (a libevent event base) with `entry` as its first thread. Nothing runs
---until `loop()`. `errh(err, thread)` receives every error that ends a thread; without it
---the error leaves `loop()` unchanged.
---@param entry function|table A function or callable object: the first thread.
---@param errh? fun(err: any, thread: thread) The kernel's error handler.
---@return ratchet.kernel
function ratchet.new(entry, errh) end

---Seconds on the monotonic clock, as a float (for deadlines).
---@return number
function ratchet.now() end

---Prints the values on the calling Lua stack to standard output (a debugging aid).
function ratchet.stackdump() end

-- metatable: ratchet_meta
---A kernel: runs ratchet threads until they have all finished.
---@class ratchet.kernel
local kernel = {}

---Runs until every (non-background) thread has finished, or `break`.
function kernel:loop() end

---One pass: resumes ready threads, or waits for one event (not with `noblock`).
---@param noblock? boolean Do not wait for an event.
---@return boolean more False when no thread is left.
function kernel:loop_once(noblock) end

---Makes `loop()` return after the current pass (call it as `k["break"](k)`).
kernel["break"] = function(self) end

---Live threads: not started, running, waiting or paused.
---@return integer
function kernel:get_num_threads() end

---The libevent backend, e.g. `"epoll"`.
---@return string
function kernel:get_method() end

---The per-thread scratch value of `thread` (see `ratchet.thread.space`).
---@param thread thread
---@param default? any Stored and returned when the thread has none yet.
---@return any
function kernel:get_space(thread, default) end

---Kills every thread and frees the event base (also `__close` and `__gc`).
function kernel:close() end
