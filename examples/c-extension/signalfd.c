/*
 * signalfd.c — an example C extension for ratchet: reads Linux signalfd(2) descriptors
 * inside ratchet threads. Only the calling thread waits for a signal; the kernel runs the
 * others. It shows the whole of ratchet.h: ratchet_wait_object to block on the module's
 * own descriptor, ratchet_error_errno for failures, ratchet_check_thread.
 *
 *   local signalfd = require "signalfd"
 *   local sfd = signalfd.new("SIGUSR1", "SIGHUP")   -- blocks them for the process
 *   local signo, name = sfd:read(5.0)               -- nil after 5 s without a signal
 *
 * Build: make (needs the Lua 5.4 headers and ../../include/ratchet.h).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include "ratchet.h"

#define SIGNALFD_META "signalfd.reader"

typedef struct { int fd; } Reader;

static const struct { const char *name; int signo; } names[] = {
    {"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT}, {"SIGTERM", SIGTERM},
    {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGCHLD", SIGCHLD}, {"SIGALRM", SIGALRM},
    {"SIGWINCH", SIGWINCH}, {"SIGPIPE", SIGPIPE}, {NULL, 0},
};

static int signal_number(lua_State *L, int arg) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, arg);
        luaL_argcheck(L, n > 0 && n < NSIG, arg, "not a signal number");
        return (int)n;
    }
    const char *s = luaL_checkstring(L, arg);
    for (int i = 0; names[i].name; i++)
        if (strcmp(names[i].name, s) == 0) return names[i].signo;
    return luaL_argerror(L, arg, lua_pushfstring(L, "unknown signal '%s'", s));
}

static const char *signal_name(int signo) {
    for (int i = 0; names[i].name; i++)
        if (names[i].signo == signo) return names[i].name;
    return NULL;
}

static Reader *check_reader(lua_State *L) {
    Reader *r = luaL_checkudata(L, 1, SIGNALFD_META);
    if (r->fd < 0) ratchet_error(L, "signalfd.read()", "EBADF", "Reader is closed.", NULL, EBADF);
    return r;
}

/* signalfd.new(sig, ...) -> reader: blocks the signals (so they queue on the descriptor
 * instead of running their default action) and opens a non-blocking signalfd for them. */
static int reader_new(lua_State *L) {
    int n = lua_gettop(L);
    luaL_argcheck(L, n > 0, 1, "at least one signal expected");
    sigset_t set;
    sigemptyset(&set);
    for (int i = 1; i <= n; i++) sigaddset(&set, signal_number(L, i));
    Reader *r = lua_newuserdatauv(L, sizeof(Reader), 0);
    r->fd = -1;
    luaL_setmetatable(L, SIGNALFD_META);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return ratchet_error_errno(L, "signalfd.new()", "sigprocmask", errno);
    r->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->fd < 0) return ratchet_error_errno(L, "signalfd.new()", "signalfd", errno);
    return 1;
}

static int read_k(lua_State *L, int status, lua_KContext ctx);

/* Tries to read one signal; pushes its number and name, or waits and tries again. */
static int read_try(lua_State *L, double timeout) {
    Reader *r = check_reader(L);
    struct signalfd_siginfo info;
    ssize_t got = read(r->fd, &info, sizeof info);
    if (got == (ssize_t)sizeof info) {
        const char *name = signal_name((int)info.ssi_signo);
        lua_pushinteger(L, info.ssi_signo);
        if (name) lua_pushstring(L, name); else lua_pushnil(L);
        return 2;
    }
    if (got < 0 && errno != EAGAIN && errno != EINTR)
        return ratchet_error_errno(L, "signalfd.read()", "read", errno);
    ratchet_check_thread(L, "signalfd.read()");
    return ratchet_wait_object(L, 1, RATCHET_READ, timeout, 0, read_k);
}

/* After the wait: nil on timeout, else read again (the signal may have been taken by a
 * second reader of the same set, then this waits again without the timeout's rest). */
static int read_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status; (void)ctx;
    if (!ratchet_wait_result(L)) { lua_pushnil(L); return 1; }
    return read_try(L, lua_isnoneornil(L, 2) ? -1 : lua_tonumber(L, 2));
}

/* reader:read([timeout]) -> signo, name | nil */
static int reader_read(lua_State *L) {
    lua_settop(L, 2);   /* omitted and nil timeout read the same */
    double timeout = luaL_optnumber(L, 2, -1);
    return read_try(L, timeout);
}

static int reader_get_fd(lua_State *L) {
    Reader *r = luaL_checkudata(L, 1, SIGNALFD_META);
    lua_pushinteger(L, r->fd);
    return 1;
}

/* reader:close(): closes the descriptor; the signals stay blocked. */
static int reader_close(lua_State *L) {
    Reader *r = luaL_checkudata(L, 1, SIGNALFD_META);
    if (r->fd >= 0) { close(r->fd); r->fd = -1; }
    return 0;
}

int luaopen_signalfd(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"read", reader_read}, {"get_fd", reader_get_fd}, {"close", reader_close}, {NULL, NULL},
    };
    if (luaL_newmetatable(L, SIGNALFD_META)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, reader_new);
    lua_setfield(L, -2, "new");
    return 1;
}
