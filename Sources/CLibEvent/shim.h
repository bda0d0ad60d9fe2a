// These must come before event2/event.h, or the fd_set definitions clash between modules.
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/dns.h>
#include <event2/util.h>
