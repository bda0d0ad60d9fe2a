---@meta ratchet.thread
-- LuaCATS definitions (docs: docs/thread.md).

-- runtime: ratchet.thread
---Functions that act on the kernel running the calling thread.
---@class ratchet.thread
local thread = {}

---Starts `f(...)` as a new thread once the caller yields.
---@param f function|table Any callable.
---@param ... any Its arguments.
---@return thread
function thread.attach(f, ...) end

---Like `attach`, but `loop()` does not wait for it.
---@param f function|table Any callable.
---@param ... any Its arguments.
---@return thread
function thread.attach_background(f, ...) end

---Waits until every listed thread has finished (normally or by error).
---@async
---@param threads thread[]
function thread.wait_all(threads) end

---The calling thread's scratch value; the first call stores `premade` (or a new table).
---@param premade? any
---@return any
function thread.space(premade) end

---The running kernel's scratch value, shared by all its threads; the first call in a kernel
---stores `premade` (or a new table). Dropped when the kernel closes.
---@param premade? any
---@return any
function thread.kernel_space(premade) end

---The running coroutine; nil on the main state.
---@return thread?
function thread.self() end

---Sleeps for `seconds` (negative counts as 0; 0 lets other ready threads run).
---@async
---@param seconds number
function thread.timer(seconds) end

---Ends this thread with ratchet error `ALARM` after `seconds`, unless it finished first.
---@param seconds number
---@param callback? fun() Runs first in the thread's context.
function thread.alarm(seconds, callback) end

---Waits until `unpause(thread, ...)`; returns those values. With `timeout` (seconds; nil or
---negative: none) raises ratchet error `ETIMEDOUT` when no `unpause` came in time.
---@async
---@param timeout? number
---@return any ...
function thread.pause(timeout) end

---Resumes a paused thread on the next pass with `...` as `pause()`'s results.
---@param t thread
---@param ... any
function thread.unpause(t, ...) end

---Waits until an object (anything with `get_fd()`) in `reads` is readable or in `writes`
---writable; false on timeout.
---@async
---@param reads table[] Objects with a `get_fd()` method.
---@param writes? table[]
---@param timeout? number Seconds.
---@return any|false ready The object that became ready, or false.
function thread.block_on(reads, writes, timeout) end

---Waits for a signal (number or name such as `"SIGHUP"`); false when the timeout passes.
---@async
---@param signal integer|string
---@param timeout? number Seconds.
---@return boolean received
function thread.sigwait(signal, timeout) end

---Stops a thread: cancels what it waits on, its alarm, and closes its `<close>` variables.
---@param t thread
function thread.kill(t) end

---`kill` for each thread.
---@param threads thread[]
function thread.kill_all(threads) end

---Lets every other ready thread and pending event run once, then continues.
---@async
function thread.yield() end
