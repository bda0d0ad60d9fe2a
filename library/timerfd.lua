---@meta ratchet.timerfd
-- LuaCATS definitions (docs: docs/timerfd.md).

-- runtime: ratchet.timerfd
---Linux timerfd timers.
---@class ratchet.timerfd
local timerfd = {}

---@param clock? "monotonic"|"realtime"|string
---@return ratchet.timerfd.Timer
function timerfd.new(clock) end

-- metatable: ratchet_timerfd_meta
---@class ratchet.timerfd.Timer
local Timer = {}

---@return integer
function Timer:get_fd() end

---Arms the timer: first expiry after `value` seconds, then every `interval`.
---@param value? number
---@param interval? number
---@param flag? string
---@return number old_value
---@return number old_interval
function Timer:settime(value, interval, flag) end

---Seconds until the next expiry and the interval.
---@return number value
---@return number interval
function Timer:gettime() end

---Waits until the timer has expired; returns how many expirations happened.
---@async
---@return integer
function Timer:read() end

---@return true?
function Timer:close() end
