-- examples/http_static.lua as a user runs it: the --demo mode (serve, fetch two URLs with
-- the client, exit), and serving a directory to curl (a file, HEAD, a listing, 404, and a
-- path that tries to leave the root).
local h = require "helper"

local root = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/[^/]*$")
local example = root .. "/examples/http_static.lua"

local out, ok = h.sh("cd " .. root .. " && timeout 20 lua5.4 " .. example .. " --demo")
assert(ok, "demo failed:\n" .. out)
assert(out:find("GET /examples/http_static.lua -> 200 OK, text/plain; charset=utf-8", 1, true), out)
assert(out:find("GET /no/such/file -> 404 Not Found", 1, true), out)

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
