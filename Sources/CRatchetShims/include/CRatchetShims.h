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

// Marks the shared object holding this code RTLD_NODELETE (called by luaopen_ratchet).
void ratchet_pin_module(void);

struct sockaddr;
// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC): Glibc hides accept4 from Swift.
int ratchet_accept4(int fd, struct sockaddr *addr, unsigned int *len);


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
