#define _GNU_SOURCE
#include "CRatchetShims.h"
#include <lua5.4/lauxlib.h>
#include <sys/socket.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <errno.h>
#include <sched.h>
#include <unistd.h>

static int ratchet_finish(lua_State *L, int r, lua_KFunction k);

// Runs a Swift implementation with the memory limit off (a failing allocation would
// longjmp out of Swift), then performs what it described. A call it asks for is made here,
// from C, in a loop (not by recursion: a native loop calling Lua many times without
// yielding must not grow the C stack); a yield inside the call resumes in `k`.
static inline int ratchet_run(lua_State *L, ratchet_impl impl, int status, lua_KContext ctx, lua_KFunction k) {
    for (;;) {
        int outer = ratchet_in_swift_;
        ratchet_in_swift_ = 1;
        int r = impl(L, status, (intptr_t)ctx);
        ratchet_in_swift_ = outer;
        if (r > RATCHET_CALL_BASE) return ratchet_finish(L, r, k);
        int v = RATCHET_CALL_BASE - r;
        ctx = (lua_KContext)(v >> 8);
        status = lua_pcallk(L, v & 0xff, 1, 0, ctx, k);
        if (status == LUA_OK) status = LUA_YIELD;
    }
}

// Lua calls this (first call and every resumption) so Swift never sees a longjmp.
static int ratchet_continue(lua_State *L, int status, lua_KContext ctx) {
    return ratchet_run(L, (ratchet_impl)lua_touserdata(L, lua_upvalueindex(1)), status, ctx, ratchet_continue);
}

// Performs the raise or yield that Swift asked for, from a frame that is pure C; a yield
// resumes in `k`, which calls the implementation again.
static int ratchet_finish(lua_State *L, int r, lua_KFunction k) {
    if (r >= 0) return r;
    if (r == RATCHET_RAISE) return lua_error(L);
    if (r == RATCHET_ARGERROR) {
        int arg = (int)lua_tointeger(L, -2);
        return luaL_argerror(L, arg, lua_tostring(L, -1));
    }
    return lua_yieldk(L, 0, (lua_KContext)(RATCHET_YIELD_BASE - r), k);
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

void ratchet_push_impl_upvalues(lua_State *L, ratchet_impl impl, int n) {
    lua_pushlightuserdata(L, (void *)impl);
    lua_rotate(L, -n - 1, 1);
    lua_pushcclosure(L, ratchet_trampoline, n + 1);
}

// Host functions (RatchetHost): one implementation for all of them, so the closure's
// upvalues are the function's own and the call reads one of them instead of two.
static _Atomic(ratchet_impl) ratchet_host_impl;

void ratchet_set_host_impl(ratchet_impl impl) {
    atomic_store_explicit(&ratchet_host_impl, impl, memory_order_relaxed);
}

static int ratchet_host_continue(lua_State *L, int status, lua_KContext ctx) {
    return ratchet_run(L, atomic_load_explicit(&ratchet_host_impl, memory_order_relaxed), status, ctx,
                       ratchet_host_continue);
}

static int ratchet_host_trampoline(lua_State *L) {
    return ratchet_run(L, atomic_load_explicit(&ratchet_host_impl, memory_order_relaxed), LUA_OK, 0,
                       ratchet_host_continue);
}

void ratchet_push_host_function(lua_State *L, int n) {
    lua_pushcclosure(L, ratchet_host_trampoline, n);
}

_Thread_local int ratchet_in_swift_;
_Thread_local lua_State *_Atomic *ratchet_watch_slot_;

// Hosts' limits live in C because the allocator runs inside every Lua allocation and the
// hook must raise, which only C may do.
void *ratchet_limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    ratchet_limits *lim = ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) {
        free(ptr);
        lim->used -= osize;
        return NULL;
    }
    if (lim->memory_limit && nsize > osize && !ratchet_in_swift_ &&
        lim->used + (nsize - osize) > lim->memory_limit) {
        lim->hit = RATCHET_LIMIT_MEMORY;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) lim->used += nsize - osize;
    return p;
}

void ratchet_set_limits(lua_State *L, ratchet_limits *limits) {
    *(ratchet_limits **)lua_getextraspace(L) = limits;
    limits->used = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
    lua_setallocf(L, ratchet_limited_alloc, limits);
}

void ratchet_limit_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    ratchet_limits *lim = *(ratchet_limits **)lua_getextraspace(L);
    if (lim->expired) {
        lim->hit = RATCHET_LIMIT_TIME;
        luaL_error(L, lim->stopped ? "stopped by the host" : "time limit exceeded");
    }
    // The period of this coroutine's own hook: an armed or exhausted one counts every
    // instruction, one copied from its creator every count_step.
    if (lim->instruction_limited && (lim->instructions_left -= lua_gethookcount(L)) < 0) {
        lim->hit = RATCHET_LIMIT_INSTRUCTIONS;
        // From now on every instruction raises, so a pcall around the loop cannot swallow
        // the error and go on (the next instruction after it raises again).
        lua_sethook(L, ratchet_limit_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction limit exceeded");
    }
}

// The slot holds the coroutine being resumed, NULL, or BUSY while the watchdog arms the
// hook on the coroutine it read: the kernel waits out BUSY before it changes the slot, so
// the watchdog never touches a coroutine that is no longer running (and maybe freed).
#define WATCH_BUSY ((lua_State *)1)
static lua_State *watch_swap(lua_State *_Atomic *slot, lua_State *co) {
    lua_State *cur = atomic_load(slot);
    for (;;) {
        if (cur == WATCH_BUSY) { cur = atomic_load(slot); continue; }
        if (atomic_compare_exchange_weak(slot, &cur, co)) return cur;
    }
}

lua_State *ratchet_watch_enter(lua_State *co) {
    lua_State *_Atomic *slot = ratchet_watch_slot_;
    return slot ? watch_swap(slot, co) : NULL;
}

void ratchet_watch_leave(lua_State *previous) {
    lua_State *_Atomic *slot = ratchet_watch_slot_;
    if (slot) watch_swap(slot, previous);
}

void *ratchet_watch_install(void *slot) {
    void *old = (void *)ratchet_watch_slot_;
    ratchet_watch_slot_ = slot;
    return old;
}

void ratchet_watch_arm(void *slot_, lua_State *main_state) {
    lua_State *_Atomic *slot = slot_;
    lua_sethook(main_state, ratchet_limit_hook, LUA_MASKCOUNT, 1);
    lua_State *cur = atomic_load(slot);
    if (cur && cur != WATCH_BUSY && atomic_compare_exchange_strong(slot, &cur, WATCH_BUSY)) {
        lua_sethook(cur, ratchet_limit_hook, LUA_MASKCOUNT, 1);
        atomic_store(slot, cur);
    }
}
// lua_close dlcloses C modules; unloading the Swift runtime inside ratchet.so while the
// process runs on crashes it, so the module pins itself (what `-z nodelete` did at link time).
void ratchet_pin_module(void) {
    Dl_info info;
    if (dladdr((void *)ratchet_pin_module, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
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

// The signal relay's state: plain atomics, the only thing a signal handler may touch.
static _Atomic int relay_fd[RATCHET_SIGNAL_SLOTS];
static _Atomic unsigned long long relay_wanted[RATCHET_SIGNAL_SLOTS];
static _Atomic unsigned long long relay_caught[RATCHET_SIGNAL_SLOTS];
static _Atomic int relay_running;  // handlers between their first and last look at a slot

// Async-signal-safe: atomics and write(2) only; errno is preserved for the interrupted code.
void ratchet_signal_relay(int sig) {
    int saved = errno;
    unsigned long long bit = 1ULL << (sig - 1);
    atomic_fetch_add(&relay_running, 1);
    for (int i = 0; i < RATCHET_SIGNAL_SLOTS; i++) {
        if (!(atomic_load(&relay_wanted[i]) & bit)) continue;
        int fd = atomic_load(&relay_fd[i]) - 1;
        if (fd < 0) continue;
        atomic_fetch_or(&relay_caught[i], bit);
        unsigned long long one = 1;
        ssize_t n = write(fd, &one, sizeof one);  // an eventfd: only a full counter fails
        (void)n;
    }
    atomic_fetch_sub(&relay_running, 1);
    errno = saved;
}

void ratchet_signal_slot(int i, int fd) {
    atomic_store(&relay_fd[i], fd + 1);  // stored +1: static zero means "no descriptor"
    if (fd >= 0) return;
    atomic_store(&relay_wanted[i], 0);
    atomic_store(&relay_caught[i], 0);
    while (atomic_load(&relay_running) > 0) sched_yield();
}

void ratchet_signal_want(int i, unsigned long long mask) { atomic_store(&relay_wanted[i], mask); }

unsigned long long ratchet_signal_take(int i) { return atomic_exchange(&relay_caught[i], 0); }

// Swift has no thread-local storage; two words in C are the cheapest place for it
// (accessors inline in the header).
_Thread_local lua_State *ratchet_resumed_co_;
_Thread_local void *ratchet_resumed_thread_;
