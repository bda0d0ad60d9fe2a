#include <arpa/nameser.h>
extern int res_mkquery(int op, const char *dname, int class_, int type, const unsigned char *data,
                       int datalen, const unsigned char *newrr, unsigned char *buf, int buflen);
