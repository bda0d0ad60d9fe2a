# Sourced by bench/zmq.sh and bench/zmq_instructions.sh: builds ratchet (release) and the
# two C programs they compare it with, and gives them `port`. Sets here and out.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/env.sh"
out="$("$here/scripts/build" release)" || exit 1
mkdir -p "$here/bench/build"
cc -O2 -o "$here/bench/build/zmq_raw" "$here/bench/zmq_raw.c" -lzmq -lpthread || exit 1
cc -O2 -shared -fPIC $(pkg-config --cflags lua5.4) -o "$here/bench/build/zmq_floor.so" \
    "$here/bench/floor/zmq_floor.c" -lzmq || exit 1

# a free TCP port on 127.0.0.1
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
