#define _GNU_SOURCE
#include "CRatchetShims.h"
#include <lua5.4/lauxlib.h>
#include <sys/socket.h>
#include <dlfcn.h>

static int ratchet_finish(lua_State *L, int r);

// Lua calls this (first call and every resumption) so Swift never sees a longjmp.
static int ratchet_continue(lua_State *L, int status, lua_KContext ctx) {
    ratchet_impl impl = (ratchet_impl)lua_touserdata(L, lua_upvalueindex(1));
    return ratchet_finish(L, impl(L, status, (intptr_t)ctx));
}

// Performs the raise or yield that Swift asked for, from a frame that is pure C.
static int ratchet_finish(lua_State *L, int r) {
    if (r >= 0) return r;
    if (r == RATCHET_RAISE) return lua_error(L);
    if (r == RATCHET_ARGERROR) {
        int arg = (int)lua_tointeger(L, -2);
        return luaL_argerror(L, arg, lua_tostring(L, -1));
    }
    return lua_yieldk(L, 0, (lua_KContext)(RATCHET_YIELD_BASE - r), ratchet_continue);
}

// The lua_CFunction every Swift implementation is registered behind.
static int ratchet_trampoline(lua_State *L) {
    return ratchet_continue(L, LUA_OK, 0);
}

// One registration path: the implementation travels as the closure's only upvalue.
void ratchet_push_impl(lua_State *L, ratchet_impl impl) {
    lua_pushlightuserdata(L, (void *)impl);
    lua_pushcclosure(L, ratchet_trampoline, 1);
}


// lua_close dlcloses C modules; unloading the Swift runtime inside ratchet.so while the
// process runs on crashes it, so the module pins itself (what `-z nodelete` did at link time).
void ratchet_pin_module(void) {
    Dl_info info;
    if (dladdr((void *)ratchet_pin_module, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

// accept4 is hidden from Swift behind _GNU_SOURCE; one syscall instead of accept + 2 fcntl.
int ratchet_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// Swift has no thread-local storage; two words in C are the cheapest place for it
// (accessors inline in the header).
_Thread_local lua_State *ratchet_resumed_co_;
_Thread_local void *ratchet_resumed_thread_;
