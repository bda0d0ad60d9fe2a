-- examples/http_static.lua as a user runs it: the --demo mode from another directory
-- (serve, fetch two URLs with the client, exit), and serving a directory to curl (a file,
-- HEAD, a listing, 404, and a path that tries to leave the root); HEAD leaves no file open.
local h = require "helper"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]*$")
local example = root .. "/examples/http_static.lua"

for _, cwd in ipairs({h.tmpdir(), root .. "/examples"}) do
    local out, ok = h.sh("cd " .. cwd .. " && timeout 20 lua5.4 " .. example .. " --demo")
    assert(ok, "demo failed in " .. cwd .. ":\n" .. out)
    assert(out:find("GET /http_static.lua -> 200 OK, text/plain; charset=utf-8", 1, true), cwd .. ":\n" .. out)
    assert(out:find("GET /no/such/file -> 404 Not Found", 1, true), out)
end

-- serve a directory of our own in the background, then ask curl
local dir = h.tmpname("static")
assert(os.execute("mkdir -p " .. dir .. "/sub && printf 'hello file\\n' > " .. dir .. "/a.txt"))
local example_server = h.spawn(("lua5.4 %s %s 0"):format(example, dir), {limit = 20})
local ok2, err = pcall(function()
    -- the example binds port 0 and prints the one it got
    local port = example_server:wait_for("serving .- on http://127%.0%.0%.1:(%d+)/", 5)
    local base = ("http://127.0.0.1:%d"):format(port)
    local body = h.sh("curl -sS -m 10 " .. base .. "/a.txt")
    h.eq(body, "hello file", "file body")
    local head = h.sh("curl -sS -m 10 -I " .. base .. "/a.txt")
    assert(head:find("Content-Length: 11", 1, true), head)
    assert(head:find("Content-Type: text/plain", 1, true), head)
    -- 30 HEADs on one connection: the server process holds no descriptor of a.txt after.
    local heads = h.sh("curl -sS -m 10 -I" .. (" " .. base .. "/a.txt"):rep(30) .. " | grep -c '^HTTP/1.1 200'")
    h.eq(heads, "30", "HEAD answers")
    local pid = h.sh("pgrep -f -n '^lua5.4 " .. example .. " " .. dir .. "'")
    assert(pid:match("^%d+$"), "server pid: " .. pid)
    h.eq(h.sh("ls -l /proc/" .. pid .. "/fd | grep -c '/a.txt$'"), "0", "files left open by HEAD")
    local listing = h.sh("curl -sS -m 10 " .. base .. "/")
    assert(listing:find('href="/a.txt"', 1, true) and listing:find('href="/sub"', 1, true), listing)
    h.eq(h.sh("curl -s -m 10 -o /dev/null -w '%{http_code}' " .. base .. "/missing"), "404", "missing file")
    h.eq(h.sh("curl -s -m 10 -o /dev/null -w '%{http_code}' --path-as-is " .. base .. "/../../etc/passwd"), "403",
        "path leaving the root")
end)
example_server:stop()
os.execute("rm -rf " .. dir)
if not ok2 then error(err, 0) end
print("http static example ok")
