// Raw libzmq baseline for bench/zmq.sh: the same workloads as zmq_bench.lua, written the
// way libzmq's own perf tools are (blocking calls, one zmq_msg_t reused).
//   zmq_raw thr-recv ENDPOINT N SIZE   bind PULL, time N messages from the first one
//   zmq_raw thr-send ENDPOINT N SIZE   connect PUSH, send N messages
//   zmq_raw thr-local ENDPOINT N SIZE  both ends in one process and one OS thread, like two
//                                      ratchet threads in one kernel: send without waiting
//                                      until the high-water mark, receive until empty, poll
//                                      when neither can go on
//   zmq_raw lat-rep ENDPOINT N SIZE    bind REP, echo N messages
//   zmq_raw lat-req ENDPOINT N SIZE    connect REQ, N round trips, print the mean
//   zmq_raw lat-local ENDPOINT N SIZE  both ends in one OS thread (each call in turn)
//   zmq_raw thr-local-mt / lat-local-mt  both ends in one process, one OS thread each (what
//                                      libzmq's perf tools do; for reference)
// Prints one line: "msgs/s <value>" or "rtt_us <value>".
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static void *ctx;
static const char *endpoint;
static long n;
static size_t size;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int rc, const char *what) {
    if (rc < 0) { fprintf(stderr, "%s: %s\n", what, zmq_strerror(zmq_errno())); exit(1); }
}

static void *sock(int type, int bind) {
    void *s = zmq_socket(ctx, type);
    int linger = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    check(bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint), bind ? "bind" : "connect");
    return s;
}

static void thr_recv(void *s) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    check(zmq_msg_recv(&msg, s, 0), "recv");
    double t0 = now();
    for (long i = 1; i < n; i++) check(zmq_msg_recv(&msg, s, 0), "recv");
    double t = now() - t0;
    zmq_msg_close(&msg);
    printf("msgs/s %.0f\n", (n - 1) / t);
}

static void thr_send(void *s) {
    char *buf = calloc(1, size);
    for (long i = 0; i < n; i++) check(zmq_send(s, buf, size, 0), "send");
    free(buf);
}

// A sending process waits before closing: libzmq (4.3.4) may drop the tail of an ipc
// stream when the sender disconnects while the receiver still has a backlog.
static void settle(void) { sleep(1); }

static void lat_rep(void *s) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (long i = 0; i < n; i++) {
        check(zmq_msg_recv(&msg, s, 0), "recv");
        check(zmq_msg_send(&msg, s, 0), "send");
    }
    zmq_msg_close(&msg);
}

static void lat_req(void *s) {
    char *buf = calloc(1, size);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        check(zmq_send(s, buf, size, 0), "send");
        check(zmq_msg_recv(&msg, s, 0), "recv");
    }
    double t = now() - t0;
    zmq_msg_close(&msg);
    free(buf);
    printf("rtt_us %.2f\n", t / n * 1e6);
}

// One thread drives both ends, the way one ratchet kernel schedules its two threads.
static void thr_local(void *pull, void *push) {
    char *buf = calloc(1, size);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    long sent = 0, got = 0;
    double t0 = 0;
    while (got < n) {
        int progress = 0;
        for (; sent < n; sent++, progress = 1) {
            if (zmq_send(push, buf, size, ZMQ_DONTWAIT) < 0) {
                if (zmq_errno() != EAGAIN) check(-1, "send");
                break;
            }
        }
        for (; got < n; got++, progress = 1) {
            if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0) {
                if (zmq_errno() != EAGAIN) check(-1, "recv");
                break;
            }
            if (got == 0) t0 = now();
        }
        if (!progress) {
            zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0}, {push, 0, ZMQ_POLLOUT, 0}};
            check(zmq_poll(items, sent < n ? 2 : 1, -1), "poll");
        }
    }
    double t = now() - t0;
    zmq_msg_close(&msg);
    free(buf);
    printf("msgs/s %.0f\n", (n - 1) / t);
}

static void lat_local(void *req, void *rep) {
    char *buf = calloc(1, size);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        check(zmq_send(req, buf, size, 0), "send");
        check(zmq_msg_recv(&msg, rep, 0), "recv");
        check(zmq_msg_send(&msg, rep, 0), "send");
        check(zmq_msg_recv(&msg, req, 0), "recv");
    }
    double t = now() - t0;
    zmq_msg_close(&msg);
    free(buf);
    printf("rtt_us %.2f\n", t / n * 1e6);
}

static void *peer_send(void *s) { thr_send(s); return NULL; }
static void *peer_rep(void *s) { lat_rep(s); return NULL; }

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: zmq_raw MODE ENDPOINT N SIZE\n"); return 2; }
    const char *mode = argv[1];
    endpoint = argv[2];
    n = atol(argv[3]);
    size = (size_t)atol(argv[4]);
    ctx = zmq_ctx_new();
    if (!strcmp(mode, "thr-recv")) { void *s = sock(ZMQ_PULL, 1); thr_recv(s); zmq_close(s); }
    else if (!strcmp(mode, "thr-send")) { void *s = sock(ZMQ_PUSH, 0); thr_send(s); settle(); zmq_close(s); }
    else if (!strcmp(mode, "lat-rep")) { void *s = sock(ZMQ_REP, 1); lat_rep(s); zmq_close(s); }
    else if (!strcmp(mode, "lat-req")) { void *s = sock(ZMQ_REQ, 0); lat_req(s); zmq_close(s); }
    else if (!strcmp(mode, "thr-local") || !strcmp(mode, "lat-local")) {
        int thr = !strcmp(mode, "thr-local");
        void *a = sock(thr ? ZMQ_PULL : ZMQ_REQ, 1);
        void *b = sock(thr ? ZMQ_PUSH : ZMQ_REP, 0);
        if (thr) thr_local(a, b); else lat_local(a, b);
        zmq_close(a); zmq_close(b);
    } else if (!strcmp(mode, "thr-local-mt") || !strcmp(mode, "lat-local-mt")) {
        int thr = !strcmp(mode, "thr-local-mt");
        void *a = sock(thr ? ZMQ_PULL : ZMQ_REQ, 1);
        void *b = sock(thr ? ZMQ_PUSH : ZMQ_REP, 0);
        pthread_t peer;
        pthread_create(&peer, NULL, thr ? peer_send : peer_rep, b);
        if (thr) thr_recv(a); else { endpoint = NULL; lat_req(a); }
        pthread_join(peer, NULL);
        zmq_close(a); zmq_close(b);
    } else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
    zmq_ctx_term(ctx);
    return 0;
}
