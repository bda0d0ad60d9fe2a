-- fetch's pooling against nginx with a short keepalive_timeout (300 ms): every response
-- body is nginx's serial number of the TCP connection it came on. Sequential fetches make
-- one connection; nginx's idle close between fetches is noticed before reuse and costs the
-- caller nothing but a new connection; concurrent fetches under max_total share its slots.
require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"

-- A port the OS says is free, for a peer that cannot be told to pick one itself.
local function free_port()
    local s, port = h.listen()
    s:close()
    return port
end

local dir = h.tmpname("nginx")
assert(os.execute("mkdir -p " .. dir))
local port = free_port()
local conf = dir .. "/nginx.conf"
local f = assert(io.open(conf, "w"))
f:write((([[
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid DIR/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path DIR/body;
    proxy_temp_path DIR/proxy;
    fastcgi_temp_path DIR/fastcgi;
    uwsgi_temp_path DIR/uwsgi;
    scgi_temp_path DIR/scgi;
    keepalive_timeout 300ms;
    server {
        listen 127.0.0.1:PORT;
        location / { default_type text/plain; return 200 "$connection"; }
    }
}
]]):gsub("DIR", dir):gsub("PORT", tostring(port))))
f:close()
local nginx <close> = h.spawn(("nginx -e stderr -p %s -c %s"):format(dir, conf), {limit = 60})

h.run(function()
    assert(h.wait_until(function() return pcall(function() h.connect(port):close() end) end, 10),
        "nginx did not start: " .. nginx:output())
    local url = "http://127.0.0.1:" .. port .. "/"
    local pool = http_client.pool()
    local function conn()
        local code, _, _, body = http_client.fetch(url, {pool = pool, timeout = 5})
        h.eq(code, 200, "code")
        return assert(tonumber(body), "a connection number: " .. tostring(body))
    end

    -- ten sequential fetches: one TCP connection at nginx
    local first = conn()
    for i = 2, 10 do h.eq(conn(), first, "fetch " .. i .. " on nginx's connection " .. first) end
    h.eq(pool.connects, 1, "connections made")

    -- nginx closes the idle connection after 300 ms: the next fetch notices, connects anew
    h.sleep(0.6)
    local second = conn()
    assert(second ~= first, "a new connection after nginx's idle close")
    h.eq(pool.connects, 2, "connections after the idle close")
    for i = 1, 5 do h.eq(conn(), second, "sequential fetch " .. i .. " after it") end

    -- eight threads, max_total = 3: three connections at nginx, the others waited
    local limited = http_client.pool({max_total = 3})
    local seen, n = {}, 0
    local threads = {}
    for i = 1, 8 do
        threads[i] = ratchet.thread.attach(function()
            local _, _, _, body = http_client.fetch(url, {pool = limited, timeout = 5})
            if not seen[body] then seen[body] = true; n = n + 1 end
        end)
    end
    ratchet.thread.wait_all(threads)
    assert(n <= 3, n .. " connections at nginx under max_total = 3")
    h.eq(limited.waits, 5, "fetches that waited for one of the three slots")
    h.eq(limited.connects, n, "connections made")
    h.eq(limited:in_use(), 0, "no slot held")
    pool:close(); limited:close()
end)
nginx:stop()
os.execute("rm -rf " .. dir)
print("http client pool nginx ok")
