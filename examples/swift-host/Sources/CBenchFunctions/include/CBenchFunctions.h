#ifndef CBENCH_FUNCTIONS_H
#define CBENCH_FUNCTIONS_H
#include <lua5.4/lua.h>
// What host-bench measures Swift host functions against: add(a, b) as plain C functions
// registered with lua_pushcfunction, one reading its arguments unchecked (lua_tointegerx),
// one checking them as Lua's own functions do (luaL_checkinteger).
int bench_c_add(lua_State *L);
int bench_c_checked_add(lua_State *L);
#endif
