// Linux headers that Swift's Glibc module does not cover.
#include <sys/timerfd.h>
