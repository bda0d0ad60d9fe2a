#ifndef CRATCHET_SHIMS_H
#define CRATCHET_SHIMS_H
#include <stdint.h>
#include <lua5.4/lua.h>

// What a Swift implementation returns to the trampoline. Lua errors and yields unwind with
// longjmp, which must never cross a Swift frame, so Swift only *describes* them and the
// trampoline performs them after every Swift frame has returned.
//   n >= 0                  return n results
//   RATCHET_RAISE           lua_error with the value on top of the stack
//   RATCHET_ARGERROR        luaL_argerror(L, <integer below top>, <string on top>)
//   RATCHET_YIELD_BASE - k  yield no values; on resume call the implementation again
//                           with status LUA_YIELD and context k
#define RATCHET_RAISE (-1)
#define RATCHET_ARGERROR (-2)
#define RATCHET_YIELD_BASE (-3)

typedef int (*ratchet_impl)(lua_State *L, int status, intptr_t ctx);

// Pushes a Lua C closure that runs `impl` behind the trampoline.
void ratchet_push_impl(lua_State *L, ratchet_impl impl);
// The same, with `datum` as the closure's second upvalue (lua_upvalueindex(2)).
void ratchet_push_impl_with(lua_State *L, ratchet_impl impl, void *datum);

struct sockaddr;
// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC): Glibc hides accept4 from Swift.
int ratchet_accept4(int fd, struct sockaddr *addr, unsigned int *len);
// sendmsg/recvmsg of one message with at most one descriptor (SCM_RIGHTS): the CMSG_*
// macros that build the control message are not importable into Swift. recv stores the
// received descriptor (close-on-exec) in *fd, or -1 when none came.
long ratchet_send_with_fd(int sock, const void *data, unsigned long len, int fd);
long ratchet_recv_with_fd(int sock, void *data, unsigned long len, int *fd);
// prctl(PR_SET_PDEATHSIG, sig): prctl is variadic, which Swift cannot call.
int ratchet_set_parent_death_signal(int sig);


// The ratchet thread the kernel is resuming on this OS thread (and its coroutine), so a
// blocking call finds its thread without a registry lookup. Thread-local: separate Lua
// states on separate OS threads (Swift Testing runs tests in parallel) never see each other.
// Inline (Swift imports static inline functions) and initial-exec TLS: a few instructions,
// no call and no __tls_get_addr, on every blocking call.
extern _Thread_local lua_State *ratchet_resumed_co_ __attribute__((tls_model("initial-exec")));
extern _Thread_local void *ratchet_resumed_thread_ __attribute__((tls_model("initial-exec")));
static inline void ratchet_set_resumed(lua_State *co, void *thread) {
    ratchet_resumed_co_ = co;
    ratchet_resumed_thread_ = thread;
}
static inline void *ratchet_resumed(lua_State *L) {
    return L == ratchet_resumed_co_ ? ratchet_resumed_thread_ : 0;
}
static inline void *ratchet_resumed_any(void) { return ratchet_resumed_thread_; }
static inline lua_State *ratchet_resumed_co(void) { return ratchet_resumed_co_; }

#endif
