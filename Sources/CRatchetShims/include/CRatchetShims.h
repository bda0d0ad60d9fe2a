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
//   RATCHET_CALL_BASE - (k << 8 | n)
//                           call the function below the top n values with them, in
//                           protected mode, keeping one result (or the error); then call the
//                           implementation again with context k and status LUA_YIELD (the
//                           call returned) or the error's status. The callee may yield.
#define RATCHET_RAISE (-1)
#define RATCHET_ARGERROR (-2)
#define RATCHET_YIELD_BASE (-3)
#define RATCHET_CALL_BASE (-16777216)   // -(1 << 24), spelled so Swift imports it

typedef int (*ratchet_impl)(lua_State *L, int status, intptr_t ctx);

// Pushes a Lua C closure that runs `impl` behind the trampoline.
void ratchet_push_impl(lua_State *L, ratchet_impl impl);
// The same with the `n` values on top of the stack as upvalues 2...n+1 (they are popped).
void ratchet_push_impl_upvalues(lua_State *L, ratchet_impl impl, int n);

// RatchetHost's functions run behind the same protocol through one implementation, set
// once (every host sets the same one): pushes a closure whose `n` upvalues (popped) are the
// function's own, for the implementation to read.
void ratchet_set_host_impl(ratchet_impl impl);
void ratchet_push_host_function(lua_State *L, int n);

// Limits of a host's Lua state (RatchetHost). The state's extra space points to them, and
// every coroutine copies the main thread's extra space, so the allocator and the count hook
// of any ratchet thread find them without a lookup.
typedef struct ratchet_limits {
    size_t used;                 // bytes allocated by the state
    size_t memory_limit;         // 0: none
    long long instructions_left; // instruction budget of the current run/call
    int count_step;              // the count hook's period at the start of a run/call
    int instruction_limited;     // the budget applies
    volatile int expired;        // the time limit passed (set by the host's watchdog)
    volatile int stopped;        // LuaHost.stop() was called (expired is set too)
    int hit;                     // which limit stopped the script: RATCHET_LIMIT_*
} ratchet_limits;
#define RATCHET_LIMIT_MEMORY 1
#define RATCHET_LIMIT_INSTRUCTIONS 2
#define RATCHET_LIMIT_TIME 3
// lua_Alloc counting into `ud` (a ratchet_limits); refuses to grow past memory_limit while
// Lua code runs, never while a Swift frame is on top (a failure there would longjmp out
// of Swift).
void *ratchet_limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
// The count hook: raises "instruction limit exceeded" / "time limit exceeded" (a hook
// may raise; Swift cannot).
void ratchet_limit_hook(lua_State *L, lua_Debug *ar);
// Puts a new state (no coroutine yet) under `limits`: its extra space points to them and
// ratchet_limited_alloc becomes its allocator, counting from what the state holds (in C:
// lua_gc, which gives that count, is variadic and cannot be called from Swift).
void ratchet_set_limits(lua_State *L, ratchet_limits *limits);
// The limits of a host's state, from any of its coroutines (lua_getextraspace is a macro).
static inline ratchet_limits *ratchet_limits_of(lua_State *L) { return *(ratchet_limits **)lua_getextraspace(L); }
// Nonzero while a Swift function called through the trampoline (or host code) is on top
// of the C stack: then allocations must not fail. The kernel clears it while it resumes a
// thread, the host while it runs Lua code.
extern _Thread_local int ratchet_in_swift_ __attribute__((tls_model("initial-exec")));
static inline int ratchet_enter_swift(int on) { int old = ratchet_in_swift_; ratchet_in_swift_ = on; return old; }
// The coroutine the kernel of this OS thread resumes, published in a slot (an atomic
// pointer) for a host's time-limit watchdog on another thread, which arms the count hook on
// it when the deadline passes or stop() is called (lua_sethook may be called asynchronously).
// A host installs its slot while it runs; the host's coroutine.resume/wrap/close publish the
// plain coroutine they run in it too.
void *ratchet_watch_install(void *slot);  // returns the previous slot
void ratchet_watch_arm(void *slot, lua_State *main_state);

// Marks the shared object holding this code RTLD_NODELETE (called by luaopen_ratchet).
void ratchet_pin_module(void);
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

// The process-wide signal relay (Kernel/SignalRelay.swift owns the logic). Its handler is
// C because a signal handler must be async-signal-safe: for every slot (one per kernel that
// waits for signals) wanting `sig` it records the signal and writes to the slot's eventfd.
#define RATCHET_SIGNAL_SLOTS 256
void ratchet_signal_relay(int sig);
// Publishes slot `i` with eventfd `fd`, or retires it (fd -1): retiring returns only once
// no handler can still write to the old descriptor, which may then be closed.
void ratchet_signal_slot(int i, int fd);
// Sets the signals slot `i` wants (bit sig-1).
void ratchet_signal_want(int i, unsigned long long mask);
// The signals caught for slot `i` since the last call (bit sig-1).
unsigned long long ratchet_signal_take(int i);


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
// Publishes `co` in this thread's watch slot (if any) around a resume; returns the
// previous value, which `leave` puts back.
lua_State *ratchet_watch_enter(lua_State *co);
void ratchet_watch_leave(lua_State *previous);
static inline void *ratchet_resumed(lua_State *L) {
    return L == ratchet_resumed_co_ ? ratchet_resumed_thread_ : 0;
}
static inline void *ratchet_resumed_any(void) { return ratchet_resumed_thread_; }
static inline lua_State *ratchet_resumed_co(void) { return ratchet_resumed_co_; }

#endif
