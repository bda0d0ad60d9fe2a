-- A static file server on ratchet.http.server: GET and HEAD of the files under a directory,
-- keep-alive, large files streamed, an index of each directory.
--   ratchet-lua examples/http_static.lua [dir] [port]   serve dir (default .) until Ctrl-C
--   ratchet-lua examples/http_static.lua --demo         serve this file's directory, fetch two
--                                                       URLs with the client, exit (from any directory)
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local http_client = require "ratchet.http.client"

local demo = arg[1] == "--demo"
-- The demo serves the directory this script is in, so it finds itself from anywhere.
local script_dir, script_name = arg[0]:match("^(.-)/?([^/]*)$")
local root = demo and (script_dir ~= "" and script_dir or ".") or arg[1] or "."
local port = tonumber(arg[2]) or 0

local types = {
    html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8", txt = "text/plain; charset=utf-8",
    md = "text/plain; charset=utf-8", lua = "text/plain; charset=utf-8", css = "text/css",
    js = "text/javascript", json = "application/json", png = "image/png", jpg = "image/jpeg",
    jpeg = "image/jpeg", gif = "image/gif", svg = "image/svg+xml", pdf = "application/pdf",
}

local function page(code, text)
    return {code = code, headers = {["Content-Type"] = {"text/plain; charset=utf-8"}}, data = text .. "\n"}
end

-- "/a%20b/c.txt?x=1" → "a b/c.txt", or nil for a path that leaves the root.
local function local_path(uri)
    local path = uri:gsub("[?#].*$", ""):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    local parts = {}
    for seg in path:gmatch("[^/]+") do
        if seg == ".." or seg:find("\0", 1, true) then return nil end
        if seg ~= "." then parts[#parts + 1] = seg end
    end
    return table.concat(parts, "/")
end

local function is_dir(path)
    local f = io.open(path .. "/.")
    if f then f:close() return true end
    return false
end

local function listing(dir, rel)
    local p = io.popen("ls -1A '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
    local items = {}
    for name in p:lines() do
        local href = (rel == "" and "" or ("/" .. rel)) .. "/" .. name
        items[#items + 1] = ('<li><a href="%s">%s</a></li>'):format(href, name)
    end
    p:close()
    return {code = 200, headers = {["Content-Type"] = {"text/html; charset=utf-8"}},
        data = ("<!doctype html><title>/%s</title><h1>/%s</h1><ul>%s</ul>\n"):format(rel, rel, table.concat(items))}
end

-- The response for `uri`. A file's body is a function (the server sends the pieces as
-- they are read, and it closes the file at the end); with `head_only` the file is closed
-- at once: HEAD never calls the body, so an open file would wait for the GC.
local function respond(uri, head_only)
    local rel = local_path(uri)
    if not rel then return page(403, "Forbidden") end
    local path = rel == "" and root or (root .. "/" .. rel)
    if is_dir(path) then
        local index = io.open(path .. "/index.html", "rb")
        if not index then return listing(path, rel) end
        index:close()
        path = path .. "/index.html"
    end
    local f = io.open(path, "rb")
    if not f then return page(404, "Not Found") end
    local size = f:seek("end")
    local ext = path:match("%.([%w]+)$")
    local response = {
        code = 200,
        headers = {["Content-Type"] = {types[ext and ext:lower()] or "application/octet-stream"},
                   ["Content-Length"] = {size}},
    }
    if head_only then
        f:close()
        return response
    end
    f:seek("set", 0)
    response.data = function()
        local piece = f:read(65536)
        if not piece then f:close() end
        return piece
    end
    return response
end

local handlers = {}
function handlers:GET(uri) return respond(uri, false) end
function handlers:HEAD(uri) return respond(uri, true) end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    local ip, bound = listener:getsockname()
    print(("serving %s on http://%s:%d/"):format(root, ip, bound))
    local server = ratchet.thread.attach(http_server.serve, listener, handlers, {idle_timeout = 30})
    if demo then
        local base = ("http://127.0.0.1:%d"):format(bound)
        for _, path in ipairs({"/" .. script_name, "/no/such/file"}) do
            local code, message, headers, body = http_client.fetch(base .. path)
            print(("GET %s -> %d %s, %s, %d bytes"):format(path, code, message,
                headers["content-type"][1] or "?", #body))
        end
        -- stopping the accept loop drains the server: the connection the client keeps for
        -- reuse is closed too, so that the loop can finish
        ratchet.thread.kill(server)
        listener:close()
    end
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
