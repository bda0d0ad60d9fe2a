/*
 * ratchet.h — the C API for Lua C modules that run inside ratchet threads.
 *
 * A C module (a signalfd reader, a binding of some library with its own descriptor) uses
 * it to block only the calling ratchet thread until its descriptor is readable or
 * writable, and to raise the same `ratchet.error` objects the library raises.
 *
 * Header-only, on purpose: everything goes through the Lua C API and the `ratchet`
 * module loaded in the same state, so an extension links against nothing but Lua and
 * works with `require "ratchet"` from stock lua5.4 (which loads modules RTLD_LOCAL, so
 * symbols of ratchet.so are not visible to other modules) and inside RatchetHost.
 *
 *   #include <lua.h>
 *   #include <lauxlib.h>
 *   #include <ratchet.h>
 *
 *   static int read_k(lua_State *L, int status, lua_KContext ctx);
 *   static int my_read(lua_State *L) {
 *       ...try the read; on EAGAIN:
 *       return ratchet_wait_fd(L, fd, RATCHET_READ, timeout, 0, read_k);
 *   }
 *   static int read_k(lua_State *L, int status, lua_KContext ctx) {
 *       if (!ratchet_wait_result(L)) { lua_pushnil(L); return 1; }   // timed out
 *       ...try the read again
 *   }
 *
 * The original ratchet 0.8 shipped a ratchet.h for libratchet; this one keeps its
 * purpose (block on a descriptor, raise ratchet errors, find the kernel), not its
 * symbols, which named C internals this implementation does not have.
 *
 * See docs/c-api.md.
 */
#ifndef RATCHET_H
#define RATCHET_H

#include <errno.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>

#define RATCHET_C_API_VERSION 1

/* What ratchet_wait_fd waits for. */
#define RATCHET_READ  1
#define RATCHET_WRITE 2

/* Pushes the loaded `ratchet` module table (require "ratchet" must have run in this state)
 * and returns 1, or pushes nothing and returns 0. */
static inline int ratchet_push_module(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "ratchet") != LUA_TTABLE) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

/* Pushes ratchet.<sub>.<name> (a function); raises a plain Lua error when ratchet is not
 * loaded, since nothing else can be done then. */
static inline void ratchet__push_function(lua_State *L, const char *sub, const char *name) {
    if (!ratchet_push_module(L))
        luaL_error(L, "ratchet is not loaded: require \"ratchet\" before using %s.%s", sub, name);
    lua_getfield(L, -1, sub);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_remove(L, -2);
}

/* Raises a ratchet.error: err.description, err.code, err["function"], err.syscall (may be
 * NULL) and err.errno (0: none); file, line and thread are filled in by ratchet.error.new
 * from the calling Lua code. Does not return. */
static inline int ratchet_error(lua_State *L, const char *function, const char *code,
                                const char *description, const char *syscall, int err) {
    ratchet__push_function(L, "error", "new");
    lua_pushstring(L, description);
    lua_pushstring(L, code);
    lua_pushstring(L, function);
    {
        lua_Debug ar;                 /* file and line of the Lua code that called the module */
        if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushstring(L, ar.short_src);
            lua_pushinteger(L, ar.currentline);
        } else {
            lua_pushnil(L);
            lua_pushnil(L);
        }
    }
    if (syscall) lua_pushstring(L, syscall); else lua_pushnil(L);
    if (err) lua_pushinteger(L, err); else lua_pushnil(L);
    lua_call(L, 7, 1);
    return lua_error(L);
}

/* The symbolic name of an errno value ("ECONNREFUSED"), as err.code has it. */
static inline const char *ratchet_errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32)) && defined(_GNU_SOURCE)
    const char *name = strerrorname_np(err);
    if (name) return name;
#endif
    switch (err) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return "ERRNO";
    }
}

/* Raises the ratchet.error for `err` (usually errno) from `syscall` in `function`, exactly
 * as the library's own functions do: code the errno name, description strerror's text.
 * Does not return. */
static inline int ratchet_error_errno(lua_State *L, const char *function, const char *syscall, int err) {
    return ratchet_error(L, function, ratchet_errno_name(err), strerror(err), syscall, err);
}

/* True when the caller can block: a ratchet thread of a running kernel (a yieldable
 * coroutine while ratchet is loaded). A cheap early check for a clear error;
 * ratchet_wait_fd itself raises EPERM from ratchet.thread.block_on when it cannot wait. */
static inline int ratchet_in_thread(lua_State *L) {
    if (!lua_isyieldable(L)) return 0;
    if (!ratchet_push_module(L)) return 0;
    lua_pop(L, 1);
    return 1;
}

/* Raises EPERM "<function> must be called from inside a ratchet thread." unless
 * ratchet_in_thread. */
static inline void ratchet_check_thread(lua_State *L, const char *function) {
    if (!ratchet_in_thread(L)) {
        lua_pushfstring(L, "%s must be called from inside a ratchet thread.", function);
        ratchet_error(L, function, "EPERM", lua_tostring(L, -1), NULL, EPERM);
    }
}

static inline int ratchet__fd_of(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    return 1;
}

/* Waits on the object on top of the stack, which it pops (see ratchet_wait_object). */
static inline int ratchet__wait_top(lua_State *L, int events, double timeout,
                                    lua_KContext ctx, lua_KFunction k) {
    int obj = lua_gettop(L);
    ratchet__push_function(L, "thread", "block_on");
    lua_createtable(L, 1, 0);
    if (events & RATCHET_READ) { lua_pushvalue(L, obj); lua_rawseti(L, -2, 1); }
    lua_createtable(L, 1, 0);
    if (events & RATCHET_WRITE) { lua_pushvalue(L, obj); lua_rawseti(L, -2, 1); }
    if (timeout >= 0) lua_pushnumber(L, timeout); else lua_pushnil(L);
    lua_remove(L, obj);
    lua_callk(L, 3, 1, ctx, k);
    return k(L, LUA_OK, ctx);         /* it was ready at once: no yield happened */
}

/* Suspends the calling ratchet thread until the object at `index` (anything with a
 * get_fd() method, such as the module's own userdata) is readable (RATCHET_READ) or
 * writable (RATCHET_WRITE), or `timeout` seconds pass (timeout < 0: no limit). Other
 * threads run meanwhile. Then `k(L, status, ctx)` runs with the result on top of the
 * stack (read it with ratchet_wait_result); the rest of the stack is as the caller left
 * it. Use it as `return ratchet_wait_object(...)`: it does not return to the caller. */
static inline int ratchet_wait_object(lua_State *L, int index, int events, double timeout,
                                      lua_KContext ctx, lua_KFunction k) {
    lua_pushvalue(L, index);
    return ratchet__wait_top(L, events, timeout, ctx, k);
}

/* ratchet_wait_object for a bare descriptor. */
static inline int ratchet_wait_fd(lua_State *L, int fd, int events, double timeout,
                                  lua_KContext ctx, lua_KFunction k) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, fd);
    lua_pushcclosure(L, ratchet__fd_of, 1);
    lua_setfield(L, -2, "get_fd");
    return ratchet__wait_top(L, events, timeout, ctx, k);
}

/* In the continuation of ratchet_wait_*: pops the result and returns 1 when the descriptor
 * became ready, 0 when the timeout passed. */
static inline int ratchet_wait_result(lua_State *L) {
    int ready = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return ready;
}

#endif /* RATCHET_H */
