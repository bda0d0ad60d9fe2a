// The least any Lua binding of libzmq can cost per message: bare libzmq calls (blocking, or
// with ZMQ_DONTWAIT when the last argument is true; no kernel, no coroutine, no waiting of
// its own), the receive copied into one Lua string, userdata reached with no type check. Not a library: bench/zmq.sh runs zmq_floor.lua on
// it to show how close ratchet.zmqsocket is to what Lua itself costs.
#include <lauxlib.h>
#include <lua.h>
#include <time.h>
#include <zmq.h>

typedef struct { void *s; zmq_msg_t msg; } fsock;
static void *ctx;

static int f_new(lua_State *L) {
    const char *t = luaL_checkstring(L, 1);
    fsock *f = lua_newuserdatauv(L, sizeof *f, 0);
    f->s = zmq_socket(ctx, t[2] == 'S' ? ZMQ_PUSH : ZMQ_PULL);  /* "PUSH" or "PULL" */
    int linger = 5000;
    zmq_setsockopt(f->s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_msg_init(&f->msg);
    luaL_setmetatable(L, "zmq_floor");
    return 1;
}

static int f_bind(lua_State *L) {
    fsock *f = lua_touserdata(L, 1);
    lua_pushboolean(L, zmq_bind(f->s, luaL_checkstring(L, 2)) == 0);
    return 1;
}

static int f_connect(lua_State *L) {
    fsock *f = lua_touserdata(L, 1);
    lua_pushboolean(L, zmq_connect(f->s, luaL_checkstring(L, 2)) == 0);
    return 1;
}

static int f_send(lua_State *L) {
    fsock *f = lua_touserdata(L, 1);
    size_t n;
    const char *d = lua_tolstring(L, 2, &n);
    lua_pushboolean(L, zmq_send(f->s, d, n, lua_toboolean(L, 3) ? ZMQ_DONTWAIT : 0) >= 0);
    return 1;
}

static int f_recv(lua_State *L) {
    fsock *f = lua_touserdata(L, 1);
    int n = zmq_msg_recv(&f->msg, f->s, lua_toboolean(L, 2) ? ZMQ_DONTWAIT : 0);
    if (n < 0) return 0;
    lua_pushlstring(L, zmq_msg_data(&f->msg), (size_t)n);
    lua_pushboolean(L, zmq_msg_more(&f->msg));
    return 2;
}

/* poll(pull[, push]): waits until pull is readable or push writable */
static int f_poll(lua_State *L) {
    zmq_pollitem_t items[2] = {{((fsock *)lua_touserdata(L, 1))->s, 0, ZMQ_POLLIN, 0}, {0}};
    int count = 1;
    if (lua_touserdata(L, 2)) {
        items[1] = (zmq_pollitem_t){((fsock *)lua_touserdata(L, 2))->s, 0, ZMQ_POLLOUT, 0};
        count = 2;
    }
    zmq_poll(items, count, -1);
    return 0;
}

static int f_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int f_sleep(lua_State *L) {
    double t = luaL_checknumber(L, 1);
    struct timespec ts = {(time_t)t, (long)((t - (time_t)t) * 1e9)};
    nanosleep(&ts, NULL);
    return 0;
}

int luaopen_zmq_floor(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"bind", f_bind}, {"connect", f_connect}, {"send", f_send}, {"recv", f_recv}, {NULL, NULL}};
    ctx = zmq_ctx_new();
    luaL_newmetatable(L, "zmq_floor");
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, f_new); lua_setfield(L, -2, "new");
    lua_pushcfunction(L, f_now); lua_setfield(L, -2, "now");
    lua_pushcfunction(L, f_sleep); lua_setfield(L, -2, "sleep");
    lua_pushcfunction(L, f_poll); lua_setfield(L, -2, "poll");
    return 1;
}
