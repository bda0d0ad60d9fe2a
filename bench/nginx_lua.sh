#!/usr/bin/env bash
# The OpenResty-style peer for the HTTP benchmark: Debian's nginx-light with
# libnginx-mod-http-lua, one process (no master, one worker), no access log, answering
# every request from a content_by_lua_block with the 14-byte hello world.
# usage: bench/nginx_lua.sh PORT   (stays in the foreground until SIGTERM)
set -euo pipefail
port="${1:?usage: nginx_lua.sh PORT}"
dir="${TMPDIR:-/tmp}/ratchet-bench-nginx.$port"
rm -rf "$dir"; mkdir -p "$dir"
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
    server {
        listen 127.0.0.1:$port backlog=1024;
        location / {
            content_by_lua_block { ngx.header["Content-Length"] = 14; ngx.print("Hello, World!\n") }
        }
    }
}
CONF
exec nginx -p "$dir" -c "$dir/nginx.conf" -e stderr
