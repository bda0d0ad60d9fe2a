-- The HTTP/2 server's deadlines are totals, however slowly a client trickles what it owes
-- (Python's hyperframe/hpack, Tests/lua/h2_peer.py, sending a byte or a frame every 0.2 s):
-- the preface and first SETTINGS, a frame, a request's header block within header_timeout;
-- a request body within body_timeout (408 on that stream, the connection goes on); an idle
-- connection, PINGs or not, is closed with GOAWAY after idle_timeout. And the timeout the
-- caller set on the socket bounds every wait (issue 17, defect 4): the server's options
-- only make waits shorter.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"

local handlers = {
    GET = function(_, uri) return {data = "h2 " .. uri} end,
    POST = function(_, _, _, data) return {data = "posted " .. #data} end,
}

local peer = debug.getinfo(1, "S").source:match("^@(.*/)") .. "h2_peer.py"

-- Runs the deadline cases at once, each its own client: case → {what the server did, seconds}.
local function run_cases(port, cases)
    local jobs = {}
    for _, case in ipairs(cases) do
        jobs[case] = h.spawn(("/usr/bin/python3 %s %d deadlines %s"):format(peer, port, case), {limit = 30})
    end
    local results = {}
    for case, job in pairs(jobs) do
        local rc, out = job:wait(30)
        h.eq(rc, 0, case .. ": " .. out)
        local seen, took = out:match("^" .. case:gsub("%-", "%%-") .. ": (.-) after ([%d.]+)\n$")
        assert(seen, case .. ": unexpected output " .. out)
        results[case] = {seen = seen, took = tonumber(took)}
    end
    return results
end

local function within(r, low, high, what)
    assert(r.took >= low and r.took < high, ("%s: took %.2f s, expected %.1f to %.1f (%s)"):format(
        what, r.took, low, high, r.seen))
end

h.run(function()
    -- header_timeout 1, body_timeout 1.5, idle_timeout 2: each case shows which one ended it
    local port, stats = t.serve(handlers, {header_timeout = 1, body_timeout = 1.5, idle_timeout = 2})
    local r = run_cases(port, {"preface", "settings", "headers", "continuation", "body", "idle"})

    -- the preface a byte per 0.2 s (4.8 s in all): cut at header_timeout
    h.eq(r.preface.seen, "eof", "trickled preface: closed")
    within(r.preface, 0.9, 1.8, "trickled preface")
    -- the preface at once, then SETTINGS a byte at a time: the same deadline
    assert(r.settings.seen:match("eof$"), "trickled SETTINGS: closed: " .. r.settings.seen)
    within(r.settings, 0.9, 1.8, "trickled SETTINGS")
    -- a HEADERS frame a byte at a time: a frame must be complete within header_timeout
    h.eq(r.headers.seen, "goaway 0,eof", "trickled HEADERS frame: GOAWAY and closed")
    within(r.headers, 0.9, 1.8, "trickled HEADERS frame")
    -- a header block as a HEADERS and CONTINUATION frames, each whole: the block as a whole
    h.eq(r.continuation.seen, "goaway 0,eof", "trickled CONTINUATION frames: GOAWAY and closed")
    within(r.continuation, 0.9, 1.8, "trickled header block")
    -- a request body a byte per DATA frame: 408 on that stream at body_timeout, then
    -- RST_STREAM NO_ERROR (stop sending); the connection goes on with the next request
    h.eq(r.body.seen, "status 1 408,rst 1 0,status 200",
        "trickled body: 408 and RST_STREAM NO_ERROR, then the connection goes on")
    within(r.body, 1.4, 2.3, "trickled request body")
    -- PINGs every 0.2 s do not keep an idle connection open past idle_timeout
    h.eq(r.idle.seen, "goaway 0,eof", "idle connection with PINGs: GOAWAY and closed")
    within(r.idle, 1.9, 2.8, "idle connection with PINGs")
    stats.stop()

    -- the caller's socket timeout (0.5 s) bounds every wait under the server's long defaults
    local listener, port2 = h.listen()
    local served = ratchet.thread.attach(function()
        while true do
            local client, from = listener:accept()
            client:set_timeout(0.5)
            ratchet.thread.attach(server.new(client, from, handlers))
        end
    end)
    r = run_cases(port2, {"silent-body", "silent"})
    h.eq(r["silent-body"].seen, "goaway 0,eof", "a request body that stops: GOAWAY at the socket's timeout")
    within(r["silent-body"], 0.4, 1.3, "a body that stops, 0.5 s socket timeout")
    h.eq(r.silent.seen, "goaway 0,eof", "a connection that sends nothing after SETTINGS: GOAWAY")
    within(r.silent, 0.4, 1.3, "a silent connection, 0.5 s socket timeout")
    ratchet.thread.kill(served)
    listener:close()
end)
print("http2 server deadlines ok")
