// libresolv: builds DNS queries (res_mkquery) and parses replies (ns_initparse, ns_parserr,
// ns_name_uncompress) for the record types evdns cannot ask for.
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
