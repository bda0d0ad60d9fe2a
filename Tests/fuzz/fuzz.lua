-- The mutation fuzzer behind scripts/fuzz: seeds from Tests/fuzz/corpus/<target>/, mutated
-- by byte flips, interesting bytes, insertions, deletions, duplications, splices of two
-- seeds, line-ending and length-field edits, and delivered whole, a byte at a time or in
-- random pieces to the parser under test, which runs in a ratchet kernel over a socket
-- pair. Each target checks invariants (a valid reply, no traceback echoed, the session
-- ends, a later session still works, descriptors return to their count) rather than only
-- "no crash". Deterministic for a seed: a finding is replayed with --seed and --case.
local ratchet = require "ratchet"
local helper = require "helper"

local M = {}

--- A small deterministic generator (xorshift64*), independent of math.random's state.
function M.rng(seed)
    local s = (seed * 2654435761 + 1) & 0x7fffffffffffffff
    if s == 0 then s = 88172645463325252 end
    local r = {}
    function r.next()
        s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
        return s & 0x7fffffff
    end
    function r.int(lo, hi) return lo + r.next() % (hi - lo + 1) end
    function r.pick(t) return t[r.int(1, #t)] end
    function r.chance(p) return r.next() % 10000 < p * 10000 end
    return r
end

local interesting = {"\0", "\255", "\r", "\n", "\r\n", ":", " ", "\t", "0", "-1", ".", ",",
    "\r\n\r\n", "\n.\n", "\r\n.\r\n", "%", "\127", "4294967296", "18446744073709551616",
    "ffffffff", "00000000000000000001", "\\", "\"", ";", "=", "/", "?", "#", "@", "<", ">"}

local function splice_at(s, i, j, with) return s:sub(1, i - 1) .. with .. s:sub(j + 1) end

-- Each mutator takes (data, rng, seeds) and returns new data.
local mutators = {
    function(d, r) -- flip a bit
        if #d == 0 then return d end
        local i = r.int(1, #d)
        return splice_at(d, i, i, string.char(d:byte(i) ~ (1 << r.int(0, 7))))
    end,
    function(d, r) -- set a byte to an interesting value
        local i = r.int(1, #d + 1)
        return splice_at(d, i, i, r.pick(interesting))
    end,
    function(d, r) -- insert interesting or random bytes
        local i = r.int(1, #d + 1)
        local ins = r.chance(0.5) and r.pick(interesting) or string.char(r.int(0, 255)):rep(r.int(1, 64))
        return splice_at(d, i, i - 1, ins)
    end,
    function(d, r) -- delete a range
        if #d < 2 then return d end
        local i = r.int(1, #d); local j = math.min(#d, i + r.int(0, 32))
        return splice_at(d, i, j, "")
    end,
    function(d, r) -- duplicate a range (repeated headers, commands, chunks)
        if #d < 2 then return d end
        local i = r.int(1, #d); local j = math.min(#d, i + r.int(0, 200))
        local piece = d:sub(i, j)
        return splice_at(d, j + 1, j, piece:rep(r.int(1, 8)))
    end,
    function(d, r, seeds) -- splice with another seed
        local o = r.pick(seeds)
        local i = r.int(1, #d + 1); local j = r.int(1, #o + 1)
        return d:sub(1, i - 1) .. o:sub(j)
    end,
    function(d, r) -- line endings: CRLF to LF, LF to CRLF, CR alone
        local forms = {{"\r\n", "\n"}, {"\n", "\r\n"}, {"\r\n", "\r"}, {"\r\n", "\n\r"}}
        local f = r.pick(forms)
        local n = 0
        return (d:gsub(f[1], function(m)
            n = n + 1
            if r.chance(0.3) then return f[2] end
        end))
    end,
    function(d, r) -- edit a number (lengths, sizes, chunk sizes, codes)
        local spots = {}
        for s, e in d:gmatch("()%x+()") do spots[#spots + 1] = {s, e - 1} end
        if #spots == 0 then return d end
        local sp = r.pick(spots)
        local values = {"0", "1", "-1", "00000000000000000000000001", "99999999999999999999",
            "4294967295", "4294967296", "7fffffffffffffff", "8000000000000000", "+5", " 5", "5 5",
            "0x10", "1e3", tostring(r.int(0, 70000)), ""}
        return splice_at(d, sp[1], sp[2], r.pick(values))
    end,
    function(d, r) -- truncate
        return d:sub(1, r.int(0, #d))
    end,
}

--- One mutated input: 1 to 4 mutations of a seed.
function M.mutate(seeds, r)
    local d = r.pick(seeds)
    for _ = 1, r.int(1, 4) do d = r.pick(mutators)(d, r, seeds) end
    if #d > 1 << 20 then d = d:sub(1, 1 << 20) end
    return d
end

--- How the bytes are cut into writes: whole, a byte at a time, or random pieces.
function M.pieces(d, r)
    local mode = r.int(1, 4)
    if mode == 1 or #d < 2 then return {d} end
    local out = {}
    if mode == 2 and #d <= 4096 then
        for i = 1, #d do out[i] = d:sub(i, i) end
        return out
    end
    local i = 1
    while i <= #d do
        local n = r.int(1, 512)
        out[#out + 1] = d:sub(i, i + n - 1)
        i = i + n
    end
    return out
end

function M.load_corpus(dir)
    local seeds = {}
    local p = io.popen(string.format("ls %q 2>/dev/null", dir))
    for name in p:lines() do
        local f = io.open(dir .. "/" .. name, "rb")
        if f then seeds[#seeds + 1] = f:read("a"); f:close() end
    end
    p:close()
    assert(#seeds > 0, "no seeds in " .. dir)
    return seeds
end

-- Descriptor counts: the test helper's (the smallest of a few samples: under load `ls`
-- may still see popen's copy of its pipe, a phantom descriptor), and sockets alone.
M.fd_count = helper.fd_count
M.socket_count = helper.socket_count

--- Writes `pieces` to `s`, then half-closes it; stops quietly when the peer closed.
function M.send_pieces(s, pieces)
    for _, piece in ipairs(pieces) do
        local ok, rest = pcall(s.send, s, piece)
        while ok and rest do ok, rest = pcall(s.send, s, rest) end
        if not ok then pcall(s.shutdown, s, "write"); return false end
        -- after a piece of odd length the server runs before the next one comes: some pieces
        -- arrive on their own (as separate segments would), others together with the next
        if #piece % 2 == 1 then ratchet.thread.yield() end
    end
    pcall(s.shutdown, s, "write")
    return true
end

--- Reads until EOF or `timeout` seconds of silence; returns the bytes and whether EOF came.
function M.recv_all(s, timeout, limit)
    s:set_timeout(timeout)
    local parts, n = {}, 0
    while true do
        local ok, d = pcall(s.recv, s, 65536)
        if not ok then return table.concat(parts), false end
        if d == "" then return table.concat(parts), true end
        parts[#parts + 1] = d
        n = n + #d
        if limit and n > limit then return table.concat(parts), false end
    end
end

--- Runs `f()` as a thread and waits at most `seconds` for it; true when it finished.
function M.finishes(t, seconds)
    local deadline = ratchet.now() + seconds
    local spins = 0
    while coroutine.status(t) ~= "dead" do
        if ratchet.now() > deadline then ratchet.thread.kill(t); return false end
        -- a server that is ending usually needs a turn or two, not a millisecond
        spins = spins + 1
        if spins <= 20 then ratchet.thread.yield() else ratchet.thread.timer(0.001) end
    end
    return true
end

--- Runs one server session: `start(sock)` serves the server end of a socket pair (its
-- result is attached as a thread); `pieces` are written to the client end, which then
-- half-closes. Returns what the server sent, or nil and a problem when the session did
-- not end after the client's EOF.
function M.serve_session(start, pieces)
    local a, b = ratchet.socket.new_pair()
    local server = ratchet.thread.attach(start(a))
    local writer = ratchet.thread.attach(M.send_pieces, b, pieces)
    local out, eof = M.recv_all(b, 3, 4 << 20)
    local done = M.finishes(server, 3)
    ratchet.thread.kill(writer)
    b:close()
    if not done then return nil, "the server did not end the session after the client's EOF" end
    if not eof then return nil, "no EOF from the server within 3 s" end
    return out
end

--- A plain-Lua runtime error (not a ratchet.error): a bug in the code under test.
function M.is_bug(err)
    if type(err) == "table" and err.type == "ratchet_error" then return false end
    return true
end

--- Text that must never reach a peer.
function M.leaks_internals(out)
    return out:find("stack traceback", 1, true) or out:find("%.lua:%d+:") or out:find("attempt to ", 1, true)
end

--- Runs `cases` cases of `target` from `seed`; returns the list of findings.
--  A finding: {case=, problem=, input=}.
function M.run(target, opts)
    local root = opts.root
    local seeds = M.load_corpus(root .. "/Tests/fuzz/corpus/" .. target.name)
    local findings = {}
    local stats = {cases = 0}
    -- All descriptors are counted before the kernel exists and after it is closed: what a
    -- kernel opens for itself on first need (its hang-up monitor's epoll set, its signal
    -- relay's eventfd) is no leak while it runs, but must be gone with it. Sockets are
    -- counted inside as well: the cases must not leave any behind while the kernel runs.
    local fds = M.fd_count()
    local kernel = ratchet.new(function()
        local ctx = target.setup and target.setup() or {}
        local sockets = M.socket_count()
        local first, last = opts.case or 1, opts.case or opts.cases
        for case = first, last do
            local r = M.rng(opts.seed * 1000003 + case)
            local input = case <= #seeds and seeds[case] or M.mutate(seeds, r)
            local ok, problem = pcall(target.case, ctx, input, M.pieces(input, r), r)
            if not ok then problem = "the harness or the parser raised: " .. tostring(problem) end
            if problem then
                findings[#findings + 1] = {case = case, problem = problem, input = input}
                if opts.verbose then io.stderr:write(("case %d: %s\n"):format(case, problem)) end
                if #findings >= (opts.max_findings or 20) then break end
            end
            stats.cases = stats.cases + 1
            if case % 1000 == 0 then collectgarbage() end
        end
        -- A valid session still works after everything before it.
        local problem = target.sanity and target.sanity(ctx)
        if problem then findings[#findings + 1] = {case = 0, problem = "after the run: " .. problem, input = ""} end
        if target.teardown then target.teardown(ctx) end
        collectgarbage(); collectgarbage()
        local now = M.socket_count()
        if now > sockets then
            findings[#findings + 1] = {case = 0, problem = ("sockets: %d before, %d after"):format(sockets, now), input = ""}
        end
    end)
    kernel:loop()
    kernel:close()
    collectgarbage(); collectgarbage()
    local now = M.fd_count()
    if now > fds then
        findings[#findings + 1] = {case = 0, problem = ("descriptors: %d before, %d after"):format(fds, now), input = ""}
    end
    return findings, stats
end

return M
