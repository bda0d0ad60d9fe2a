-- A small mail transfer agent: accepts mail over SMTP, queues each message to files,
-- and relays the queue to a smart host. One ratchet thread per connection, one relay
-- thread; all of it written like blocking code.
--
--   ratchet-lua examples/mta.lua --smarthost 127.0.0.1:2525 [--port 2500] [--spool DIR]
--                                [--max-size BYTES] [--retry SECONDS]
--
-- The spool: DIR/<id>.env (sender, then one recipient per line) and DIR/<id>.eml (the
-- message, with a Received: header added). A message stays there until the smart host
-- takes it (250): a 4xx reply or a connection failure retries it later, a 5xx moves it
-- to DIR/failed/. Messages left from an earlier run are relayed at start.
local ratchet = require "ratchet"

-- {{{ options
local opts = { port = 2500, spool = "./spool", max_size = 10 * 1024 * 1024, retry = 30 }
do
    local i = 1
    while arg[i] do
        local name, value = arg[i]:match("^%-%-([%w-]+)$"), arg[i + 1]
        if name == "smarthost" then opts.smarthost = value
        elseif name == "port" then opts.port = tonumber(value)
        elseif name == "spool" then opts.spool = value
        elseif name == "max-size" then opts.max_size = tonumber(value)
        elseif name == "retry" then opts.retry = tonumber(value)
        else
            io.stderr:write("unknown option ", arg[i], "\n")
            os.exit(2)
        end
        i = i + 2
    end
end
local smart_host, smart_port = (opts.smarthost or ""):match("^%[?([^%]]+)%]?:(%d+)$")
if not smart_host then
    io.stderr:write("usage: mta.lua --smarthost HOST:PORT [--port N] [--spool DIR] [--max-size N] [--retry S]\n")
    os.exit(2)
end
os.execute("mkdir -p '" .. opts.spool .. "/failed'")
local hostname = ratchet.socket.gethostname()
-- }}}

local function log(...)
    io.stdout:write(os.date("%H:%M:%S "), string.format(...), "\n")
    io.stdout:flush()
end

-- {{{ the queue: files in the spool, ids in memory
local queue = { ids = {}, relay_thread = nil, relay_waiting = false }

local function spool_path(id, ext) return opts.spool .. "/" .. id .. ext end

local function write_file(path, data)
    local tmp = path .. ".tmp"
    local f = assert(io.open(tmp, "wb"))
    f:write(data)
    f:close()
    assert(os.rename(tmp, path))
end

local function read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local data = f:read("a")
    f:close()
    return data
end

-- Hands an id to the relay thread, waking it if it waits for work.
function queue.push(id)
    queue.ids[#queue.ids + 1] = id
    if queue.relay_waiting then
        queue.relay_waiting = false
        ratchet.thread.unpause(queue.relay_thread)
    end
end

local counter = 0
local function new_id()
    counter = counter + 1
    return string.format("%d.%d.%d", os.time(), math.random(100000, 999999), counter)
end

function queue.store(sender, recipients, data, received_from)
    local id = new_id()
    local received = string.format("Received: from %s\r\n\tby %s (ratchet mta) with ESMTP id %s;\r\n\t%s\r\n",
        received_from, hostname, id, os.date("!%a, %d %b %Y %H:%M:%S +0000"))
    write_file(spool_path(id, ".eml"), received .. data)
    -- The envelope last: a message counts as queued once its .env exists.
    write_file(spool_path(id, ".env"), sender .. "\n" .. table.concat(recipients, "\n") .. "\n")
    queue.push(id)
    return id
end
-- }}}

-- {{{ receiving: one SMTP server session per connection (ratchet.smtp.server.serve)
local function session_handlers(from)
    local session = { recipients = {} }
    local handlers = {}

    function handlers:EHLO(reply, ehlo_as) session.ehlo_as = ehlo_as end
    function handlers:MAIL(reply, address)
        session.sender = address
        session.recipients = {}
    end
    function handlers:RCPT(reply, address)
        if address == "" then
            reply.code, reply.message, reply.enhanced_status_code = "550", "Empty recipient", "5.1.3"
            return
        end
        session.recipients[#session.recipients + 1] = address
    end
    function handlers:HAVE_DATA(reply, data, err)
        if err then return end -- oversized: the default 552 5.3.4 stands
        local id = queue.store(session.sender, session.recipients, data,
            string.format("%s ([%s])", session.ehlo_as or "unknown", tostring(from)))
        log("queued %s from <%s> for %d recipient(s), %d bytes", id, session.sender, #session.recipients, #data)
        reply.message = "Queued as " .. id
    end
    function handlers:RSET() session.recipients = {} end
    return handlers
end
-- }}}

-- {{{ relaying: one client session per queued message
local function relay_one(id)
    local env = read_file(spool_path(id, ".env"))
    local data = read_file(spool_path(id, ".eml"))
    if not env or not data then return "gone" end
    local sender = env:match("^([^\n]*)\n")
    local recipients = {}
    for r in env:sub(#sender + 2):gmatch("([^\n]+)") do recipients[#recipients + 1] = r end

    local rec = ratchet.socket.prepare_tcp(smart_host, tonumber(smart_port))
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:set_timeout(60)
    sock:connect(rec.addr)
    local client = ratchet.smtp.client.new(sock)

    local function check(reply, want)
        if reply.code == want then return end
        error({ temporary = (reply.code or "4"):sub(1, 1) ~= "5",
            text = reply.command .. ": " .. tostring(reply.code) .. " " .. tostring(reply.message) }, 0)
    end
    local ok, err = pcall(function()
        check(client:get_banner(), "220")
        local ehlo = client:ehlo(hostname)
        if ehlo.code ~= "250" then check(client:helo(hostname), "250") end
        local mail = client:mailfrom(sender, #data)
        local rcpts = {}
        for i, r in ipairs(recipients) do rcpts[i] = client:rcptto(r) end
        local data_reply = client:data()   -- with PIPELINING this reads MAIL and RCPT too
        check(mail, "250")
        for _, r in ipairs(rcpts) do check(r, "250") end
        check(data_reply, "354")
        check(client:send_data(data), "250")
    end)
    pcall(client.quit, client)
    if ok then return "sent" end
    if type(err) == "table" and not err.temporary then return "failed", err.text end
    return "retry", type(err) == "table" and err.text or tostring(err)
end

local function relay()
    queue.relay_thread = ratchet.thread.self()
    while true do
        local id = table.remove(queue.ids, 1)
        if not id then
            queue.relay_waiting = true
            ratchet.thread.pause()
        else
            local pok, result, why = pcall(relay_one, id)
            if not pok then result, why = "retry", tostring(result) end
            if result == "sent" then
                os.remove(spool_path(id, ".env"))
                os.remove(spool_path(id, ".eml"))
                log("relayed %s to %s:%s", id, smart_host, smart_port)
            elseif result == "failed" then
                os.rename(spool_path(id, ".eml"), opts.spool .. "/failed/" .. id .. ".eml")
                os.rename(spool_path(id, ".env"), opts.spool .. "/failed/" .. id .. ".env")
                log("failed %s: %s", id, why)
            elseif result == "retry" then
                log("deferred %s: %s (retry in %gs)", id, why, opts.retry)
                -- background: a stop does not wait for a retry (the spool keeps the message)
                ratchet.thread.attach_background(function()
                    ratchet.thread.timer(opts.retry)
                    queue.push(id)
                end)
            end
        end
    end
end
-- }}}

ratchet.new(function()
    require "ratchet.smtp.server"
    require "ratchet.smtp.client"

    -- Messages queued by an earlier run.
    local ls = io.popen("ls '" .. opts.spool .. "'")
    for name in ls:lines() do
        local id = name:match("^(.+)%.env$")
        if id then queue.ids[#queue.ids + 1] = id end
    end
    ls:close()
    ratchet.thread.attach(relay)

    local rec = ratchet.socket.prepare_tcp("127.0.0.1", opts.port)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    local ip, port = listener:getsockname()
    log("listening on %s:%d, relaying to %s:%s, spool %s", ip, port, smart_host, smart_port, opts.spool)
    -- until SIGTERM/SIGINT (ratchet.worker): then idle sessions get 421 4.3.2, a message
    -- being received is finished first, and the relay stops with the receiving
    ratchet.smtp.server.serve(listener, session_handlers,
        { max_message_size = opts.max_size, idle_timeout = 60 })
    log("stopped receiving")
    -- a message being relayed now stays in the spool and is relayed at the next start
    ratchet.thread.kill(queue.relay_thread)
end, function(err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
