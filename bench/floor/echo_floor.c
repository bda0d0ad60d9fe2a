// The least a Lua library with one coroutine per connection can cost: the echo server of
// bench/echo_server.lua run on nothing but this file. Each connection is a userdata holding
// its descriptor and an embedded libevent event (persistent and edge-triggered, added once:
// no epoll_ctl per wait); recv and accept try first and, on EAGAIN, yield the coroutine,
// which the event callback resumes; a running coroutine is anchored by one registry
// reference. No timeouts, no error objects, no bookkeeping beyond that. Not a library:
// scripts/bench runs echo_floor.lua on it as the "lua-floor" row of the echo and idle
// tables, to show what Lua itself costs per connection and per round trip.
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <lauxlib.h>
#include <lua.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct { int fd; struct event ev; lua_State *waiter; } conn;
static struct event_base *base;
static char buf[65536];

#define THREAD_REF(co) (*(int *)lua_getextraspace(co))

static void resume(lua_State *co, int nargs) {
    int nres;
    int st = lua_resume(co, NULL, nargs, &nres);
    if (st == LUA_YIELD) return;
    if (st != LUA_OK) fprintf(stderr, "echo_floor: %s\n", lua_tostring(co, -1));
    luaL_unref(co, LUA_REGISTRYINDEX, THREAD_REF(co));  /* finished: drop the anchor */
}

static void fired(evutil_socket_t fd, short what, void *arg) {
    conn *c = arg;
    lua_State *co = c->waiter;
    if (!co) return;  /* nobody waits: the next call tries the syscall first anyway */
    c->waiter = NULL;
    resume(co, 0);
}

static int park(lua_State *L, conn *c, lua_KFunction k) {
    c->waiter = L;
    return lua_yieldk(L, 0, 0, k);
}

static conn *push_conn(lua_State *L, int fd) {
    conn *c = lua_newuserdatauv(L, sizeof *c, 0);
    c->fd = fd;
    c->waiter = NULL;
    event_assign(&c->ev, base, fd, EV_READ | EV_PERSIST | EV_ET, fired, c);
    event_add(&c->ev, NULL);
    luaL_setmetatable(L, "echo_floor");
    return c;
}

static int f_recv_k(lua_State *L, int status, lua_KContext ctx) {
    conn *c = lua_touserdata(L, 1);
    ssize_t n = read(c->fd, buf, luaL_optinteger(L, 2, sizeof buf));
    if (n < 0 && errno == EAGAIN) return park(L, c, f_recv_k);
    lua_pushlstring(L, buf, n > 0 ? (size_t)n : 0);
    return 1;
}
static int f_recv(lua_State *L) { return f_recv_k(L, LUA_OK, 0); }

static int f_send(lua_State *L) {
    conn *c = lua_touserdata(L, 1);
    size_t n;
    const char *d = lua_tolstring(L, 2, &n);
    ssize_t w = write(c->fd, d, n);
    /* the unsent rest, as ratchet returns it; a full socket buffer (w < 0) is not waited
       for: the benchmark's 64-byte messages never meet one */
    if (w >= 0 && (size_t)w < n) lua_pushlstring(L, d + w, n - w);
    else lua_pushnil(L);
    return 1;
}

static int f_accept_k(lua_State *L, int status, lua_KContext ctx) {
    conn *c = lua_touserdata(L, 1);
    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && errno == EAGAIN) return park(L, c, f_accept_k);
    if (fd < 0) return luaL_error(L, "accept: %s", strerror(errno));
    push_conn(L, fd);
    return 1;
}
static int f_accept(lua_State *L) { return f_accept_k(L, LUA_OK, 0); }

static int f_close(lua_State *L) {
    conn *c = lua_touserdata(L, 1);
    if (c->fd >= 0) { event_del(&c->ev); close(c->fd); c->fd = -1; }
    return 0;
}

static int f_listen(lua_State *L) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(luaL_checkinteger(L, 1)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0)
        return luaL_error(L, "listen: %s", strerror(errno));
    push_conn(L, fd);
    return 1;
}

/* spawn(f, ...): a new coroutine running f(...), started at once */
static int f_spawn(lua_State *L) {
    int n = lua_gettop(L);
    lua_State *co = lua_newthread(L);
    THREAD_REF(co) = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_xmove(L, co, n);
    resume(co, n - 1);
    return 0;
}

static int f_loop(lua_State *L) { event_base_dispatch(base); return 0; }

int luaopen_echo_floor(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"recv", f_recv}, {"send", f_send}, {"accept", f_accept}, {"close", f_close}, {NULL, NULL}};
    static const luaL_Reg functions[] = {
        {"listen", f_listen}, {"spawn", f_spawn}, {"loop", f_loop}, {NULL, NULL}};
    base = event_base_new();
    luaL_newmetatable(L, "echo_floor");
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, f_close);  /* a collected connection must leave libevent first */
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    return 1;
}
