-- ratchet.error: fields, is, get_string, tostring.
local ratchet = require "ratchet"
local h = require "helper"

local e = ratchet.error.new("Something broke", "EBROKE", "my.func()", "file.lua", 12, "read", 5)
h.eq(e.type, "ratchet_error", "type")
h.eq(e.description, "Something broke", "description")
h.eq(e.code, "EBROKE", "code")
h.eq(e["function"], "my.func()", "function")
h.eq(e.file, "file.lua", "file")
h.eq(e.line, 12, "line")
h.eq(e.syscall, "read", "syscall")
h.eq(e.errno, 5, "errno")
h.eq(e.thread, nil, "no thread on main state")
assert(e:is("EBROKE") and not e:is("OTHER"), "method is")
assert(ratchet.error.is(e, "EBROKE"), "function is")
h.eq(e:get_string(), "my.func(): Something broke", "get_string with function")
h.eq(tostring(e), "my.func(): Something broke", "tostring")
h.eq(ratchet.error.new("d", nil, nil, "f.lua", 3):get_string(), "f.lua:3: d", "file:line form")
h.eq(ratchet.error.new("just this"):get_string(), "just this", "bare description")
assert(ratchet.error.is("x", "x") and not ratchet.error.is("x", "y"), "strings compare")
assert(not ratchet.error.is({}, "x"), "plain tables are not errors")
h.raises_msg("attempt to index a nil value", ratchet.error.is, nil, "x")

-- Inside a thread the error records it. tostring adds the thread's traceback only once the
-- thread died with it (test_kernel_errors_show_where.lua): while the thread runs, its
-- current stack is not where the error happened.
h.run(function()
    local te = ratchet.error.new("in thread", "X")
    h.eq(te.thread, coroutine.running(), "thread field")
    h.eq(tostring(te), "in thread", "no traceback while the thread runs")
end)

-- Errors raised by the library carry function, code, errno, file and line of the caller.
h.run(function()
    local ok, err = pcall(ratchet.thread.timer, {})
    assert(not ok and tostring(err):find("bad argument #1 to 'ratchet.thread.timer' (number expected, got table)", 1, true), tostring(err))
end)
local ok, err = pcall(function() ratchet.thread.pause() end)
assert(ratchet.error.is(err, "EPERM"), tostring(err))
h.eq(err.errno, nil, "EPERM code without errno in this case is allowed")
assert(err.file and err.line, "caller position recorded")
