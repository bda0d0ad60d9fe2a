// Linux headers and GNU declarations that Swift's Glibc module does not cover (it is built
// without _GNU_SOURCE, and redefining that here would clash with the Glibc module).
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/random.h>

// Atomic close-on-exec pipes (unistd.h declares it only under _GNU_SOURCE).
int pipe2(int pipefd[2], int flags);
// Closes every descriptor >= fd in a spawned child (glibc 2.34+, declared under __USE_MISC).
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int fd);
