-- ratchet-lua accepts what lua5.4 accepts with the same meaning (issue 17): -E, -W,
-- LUA_INIT / LUA_INIT_5_4, a script piped on stdin when none is named, "#!" skipped for
-- "-" too, precompiled chunks, the lua.c step order, its refusals; plus -h/--help and a
-- -v that names every version. Stock lua5.4 runs the same command lines as the reference.
-- The interactive prompt: test_runner_interactive_prompt.
local h = require "helper"
local runner = assert(os.getenv("RATCHET_OUT"), "RATCHET_OUT is set by scripts/test") .. "/bin/ratchet-lua"

-- Runs `args` with `program` (env assignments in `env`, stdin from `stdin` or /dev/null);
-- returns stdout, stderr, exit status.
local function run(program, args, stdin, env)
    local base = h.tmpname("lua-compat")
    local input = "/dev/null"
    if stdin then input = h.write_tmp(stdin, "stdin") end
    local cmd = string.format("%s timeout 20 %s %s <%s >%s.out 2>%s.err", env or "", program, args, input, base, base)
    local _, _, status = os.execute(cmd)
    local out, err = h.read_file(base .. ".out"), h.read_file(base .. ".err")
    os.remove(base .. ".out"); os.remove(base .. ".err")
    if stdin then os.remove(input) end
    return out, err, status
end

-- Both programs give the same stdout and exit status; stderr is compared with the
-- program names taken out.
local function same(args, stdin, env, what)
    local lo, le, ls = run("lua5.4", args, stdin, env)
    local ro, re, rs = run(runner, args, stdin, env)
    what = what or args
    h.eq(ro, lo, what .. ": stdout")
    h.eq(rs, ls, what .. ": exit status")
    local function strip(s) return (s:gsub("ratchet%-lua", "PROG"):gsub("lua5%.4", "PROG")) end
    -- the usage texts differ by ratchet-lua's -h line; the first line of stderr must match
    h.eq(strip(re):match("^[^\n]*"), strip(le):match("^[^\n]*"), what .. ": stderr")
    return ro, re, rs
end

local script = h.write_tmp("print('script', ...)\n", "script.lua")
local shebang = h.write_tmp("#!/usr/bin/env ratchet-lua\nprint('after #!', ...)\n", "shebang.lua")
-- a precompiled chunk, made by stock Lua
local compiled = h.tmpname("compiled.luac")
h.sh_ok(("lua5.4 -e \"io.open('%s', 'wb'):write(string.dump(load('print(\\'compiled\\', ...)')))\""):format(compiled))

-- Options and their order (LUA_INIT, then -e/-l/-W as given, then the script).
same([[-e "print(1)" -e "print(2)"]])
same([[-e"print('attached')"]])
same([[-l string -e "print(type(string.format))"]])
same(script .. " a b")
same("-- " .. script .. " -x")
same([[-e "x = 1" ]] .. script .. " y")
same(shebang .. " z")
same(compiled .. " c")

-- stdin: "-", and a script piped when none is named (not when -e or -v is given).
same("- a1", "print('stdin', ...)")
same("- a1", "#!/bin/sh shebang line\nprint('stdin after #!', ...)")
same("", "print('piped, no script named')")
same("-l string", "print('piped after -l')")
same([[-e "print('only -e')"]], "print('not run')")
same("-", h.read_file(compiled))
-- An error in a piped script exits 1, like every other error (lua5.4 exits 0 in just
-- this case: lua.c ignores dofile's status).
local _, perr, pstatus = run(runner, "", "error('from stdin')")
h.eq(pstatus, 1, "error in a piped script")
assert(perr:find("stdin:1: from stdin", 1, true), perr)

-- -W turns warnings on (the message goes to stderr).
local _, err = same([[-W -e "warn('careful')"]])
assert(err:find("Lua warning: careful", 1, true), "-W: " .. err)
_, err = same([[-e "warn('silent')"]])
h.eq(err, "", "warnings are off by default")

-- LUA_INIT_5_4 wins over LUA_INIT; "@file" runs a file; -E ignores them and LUA_PATH.
local init_file = h.write_tmp("print('init file')\n", "init.lua")
same([[-e "print('main')"]], nil, "LUA_INIT='print(\"init\")'")
same([[-e "print('main')"]], nil, "LUA_INIT='print(\"init\")' LUA_INIT_5_4='print(\"init 5.4\")'")
same([[-e "print('main')"]], nil, "LUA_INIT=@" .. init_file)
same([[-E -e "print('main')"]], nil, "LUA_INIT='print(\"init\")'")
same([[-e "error('in init')"]], nil, "LUA_INIT='error(\"bad init\")'")
local out = run(runner, [[-e "print(package.path:find('/nowhere/', 1, true) ~= nil)"]], nil,
    "LUA_PATH='/nowhere/?.lua;;'")
h.eq(out, "true\n", "LUA_PATH read without -E")
out = run(runner, [[-E -e "print(package.path:find('/nowhere/', 1, true) ~= nil)"]], nil, "LUA_PATH='/nowhere/?.lua;;'")
h.eq(out, "false\n", "-E ignores LUA_PATH")
out = run(runner, [[-E -e "print(require('ratchet').version == ratchet.version)"]])
h.eq(out, "true\n", "-E keeps ratchet")

-- Refusals: the same first line, exit status 1.
same("-Z")
same("-vx")
same("-e")
same("-e -v")
same("--x")
same("/nonexistent.lua")
same("-- -")

-- -v: Lua's own line, then ratchet and the libraries it runs on.
local lo = run("lua5.4", "-v")
out = run(runner, "-v")
h.eq(out:match("^[^\n]*\n"), lo, "-v first line as lua5.4's")
assert(out:match("\nratchet %d+%.%d+%.%d+ %(libevent [%w%.%-]+, OpenSSL %d+%.%d+%.%d+, libzmq [%w%. ]+%)\n$"), "-v: " .. out)

-- -h and --help: the usage on stdout, status 0; every option of lua5.4's usage is listed.
local _, lua_usage = run("lua5.4", "-h")
for _, flag in ipairs({ "-h", "--help" }) do
    local o, e, status = run(runner, flag)
    h.eq(status, 0, flag .. " status")
    h.eq(e, "", flag .. " stderr")
    for line in lua_usage:gmatch("\n(  [^\n]*)") do
        assert(o:find(line, 1, true), flag .. " lacks '" .. line .. "':\n" .. o)
    end
    assert(o:find("  -h        show this help", 1, true), o)
end

for _, f in ipairs({ script, shebang, compiled, init_file }) do os.remove(f) end
print("ok")
