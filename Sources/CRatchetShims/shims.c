#define _GNU_SOURCE
#include "CRatchetShims.h"
#include <lua5.4/lauxlib.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/prctl.h>

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

// The same with a second upvalue the implementation reads (a handle type's tag, so the
// shared metamethods can check their argument); the trampoline only uses the first.
void ratchet_push_impl_with(lua_State *L, ratchet_impl impl, void *datum) {
    lua_pushlightuserdata(L, (void *)impl);
    lua_pushlightuserdata(L, datum);
    lua_pushcclosure(L, ratchet_trampoline, 2);
}


// accept4 is hidden from Swift behind _GNU_SOURCE; one syscall instead of accept + 2 fcntl.
int ratchet_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// The CMSG_* macros are not importable into Swift (worker listener hand-over, WorkerChannel).
long ratchet_send_with_fd(int sock, const void *data, unsigned long len, int fd) {
    struct iovec iov = {(void *)data, len};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &m, MSG_NOSIGNAL);
}

long ratchet_recv_with_fd(int sock, void *data, unsigned long len, int *fd) {
    struct iovec iov = {data, len};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    *fd = -1;
    long n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    if (n >= 0) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
    return n;
}

// prctl is variadic, which Swift cannot call (a worker ends with its supervisor).
int ratchet_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL);
}

// Swift has no thread-local storage; two words in C are the cheapest place for it
// (accessors inline in the header).
_Thread_local lua_State *ratchet_resumed_co_;
_Thread_local void *ratchet_resumed_thread_;
