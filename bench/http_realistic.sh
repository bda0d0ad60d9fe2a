#!/usr/bin/env bash
# The realistic HTTP workloads, ratchet.http.server beside nginx + lua-nginx-module: GET /json
# answered with a 4 KB JSON document, sent with 10 request headers (bench/wrk/json_10_headers.lua),
# and POST /post with a 64 KB body (bench/wrk/post_64k.lua); wrk -t1 -c100 as in
# bench/http_compare.sh (SECS, REPS and EXTRA_SERVERS pass through). A benchmark, not a test.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
for script in json_10_headers post_64k; do
    WRK_ARGS="-s $here/bench/wrk/$script.lua" "$here/bench/http_compare.sh" "${1:-ratchet-http|nginx-lua}"
    echo
done
