-- ratchet-lua's interactive prompt, as lua5.4's (issue 17): alone when stdin is a
-- terminal (a pseudo-terminal here), after the script with -i; expressions print their
-- values, unfinished statements continue on ">> ", errors are reported and the prompt
-- goes on, each line may run a kernel, _PROMPT is honoured, Ctrl-D ends it. Piped input
-- with -i gives the same answers.
local h = require "helper"
local runner = assert(os.getenv("RATCHET_OUT"), "RATCHET_OUT is set by scripts/test") .. "/bin/ratchet-lua"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")

-- Runs peers/pty_prompt.py with `steps` (its step language) and `args` for the runner.
local function pty_session(args, steps)
    local input = h.write_tmp(table.concat(steps, "\n") .. "\n", "pty-steps")
    local job = h.spawn(("python3 %s/peers/pty_prompt.py %s %s"):format(here, runner, args), { input = input, limit = 60 })
    local rc, out = job:wait(60)
    os.remove(input)
    h.eq(rc, 0, "pty session " .. args .. "\n" .. out)
    return out
end

-- Alone on a terminal: the versions, then the prompt.
pty_session("", {
    "expect Lua 5.4", "expect ratchet ", "expect \\n> ",
    "send 1+1\\n", "expect \\r\\n2\\r\\n> ",
    "send =2*21\\n", "expect \\r\\n42\\r\\n> ",
    "send x = 'kept'\\n", "expect > ",
    "send x, #x\\n", "expect kept\\t4\\r\\n> ",
    "send for i = 1, 2 do\\n", "expect >> ",
    "send print(i * 10) end\\n", "expect 10\\r\\n20\\r\\n> ",
    "send ratchet.new(function() ratchet.thread.timer(0.01) print('kernel ran') end):loop()\\n",
    "expect kernel ran\\r\\n> ",
    "send local k = ratchet.new(function() ratchet.thread.pause() end) k:loop()\\n",
    "expect Non-IO deadlock detected.", "expect > ",
    "send error('oops')\\n", "expect stdin:1: oops", "expect > ",
    "send y = 1 +\\n", "expect >> ", "send +\\n", "expect unexpected symbol", "expect > ",
    "send _PROMPT = 'lua% '\\n", "expect lua% ",
    "send print(x)\\n", "expect kept\\r\\nlua% ",
    "eof", "exit 0",
})

-- -i after a script: the script's globals are there; the arguments too.
local script = h.write_tmp("greeting = 'hello from the script'\nprint('script ran', ...)\n", "script.lua")
pty_session("-i " .. script .. " a1", {
    "expect script ran\\ta1", "expect > ",
    "send greeting, arg[1]\\n", "expect hello from the script\\ta1\\r\\n> ",
    "eof", "exit 0",
})

-- -i with piped input: the same answers; prompts go to stdout as lua5.4's do.
local input = h.write_tmp("x = 6\nx * 7\nfor i = 1, 2 do\nprint('i', i)\nend\nerror('piped')\nprint('after')\n", "in")
assert(os.execute(("timeout 20 %s -i <%s >%s.out 2>%s.err"):format(runner, input, input, input)))
local out, err = h.read_file(input .. ".out"), h.read_file(input .. ".err")
h.eq(out:match("\n(> .*)$"), "> > 42\n> >> >> i\t1\ni\t2\n> > after\n> \n", "piped -i transcript")
assert(err:find("stdin:1: piped", 1, true), "error report: " .. err)
os.remove(input); os.remove(input .. ".out"); os.remove(input .. ".err"); os.remove(script)
print("ok")
