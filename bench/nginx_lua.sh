#!/usr/bin/env bash
# The OpenResty-style peer for the HTTP benchmark: Debian's nginx-light with
# libnginx-mod-http-lua, one process (no master, one worker), no access log, answering
# every request from a content_by_lua_block with the 14-byte hello world; for the realistic
# workload (bench/http_realistic.sh) also /json (bench/http_json.lua's 4 KB document) and
# /post (answers the size of the request body, kept in memory up to 128 KB); for the
# WebSocket benchmark (bench/websocket_echo.sh) /ws, bench/nginx_ws_echo.lua.
# usage: bench/nginx_lua.sh PORT   (stays in the foreground until SIGTERM)
set -euo pipefail
port="${1:?usage: nginx_lua.sh PORT}"
dir="${TMPDIR:-/tmp}/ratchet-bench-nginx.$port"
rm -rf "$dir"; mkdir -p "$dir"
here="$(cd "$(dirname "$0")" && pwd)"
lua5.4 -e "io.write(dofile('$here/http_json.lua'))" >"$dir/doc.json"
cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    keepalive_requests 1000000;
    client_body_buffer_size 128k;
    init_by_lua_block { local f = io.open("$dir/doc.json"); doc = f:read("*a"); f:close() }
    server {
        listen 127.0.0.1:$port backlog=1024;
        location / {
            content_by_lua_block { ngx.header["Content-Length"] = 14; ngx.print("Hello, World!\n") }
        }
        location = /json {
            content_by_lua_block {
                ngx.header["Content-Type"] = "application/json"; ngx.header["Content-Length"] = #doc; ngx.print(doc)
            }
        }
        location = /ws {
            lua_socket_log_errors off;
            content_by_lua_file $here/nginx_ws_echo.lua;
        }
        location = /post {
            content_by_lua_block {
                ngx.req.read_body(); local n = tostring(#(ngx.req.get_body_data() or "")) .. "\n"
                ngx.header["Content-Length"] = #n; ngx.print(n)
            }
        }
    }
}
CONF
exec ${NGINX_WRAP:-} nginx -p "$dir" -c "$dir/nginx.conf" -e stderr
