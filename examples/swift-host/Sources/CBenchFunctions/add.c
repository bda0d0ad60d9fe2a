#include "CBenchFunctions.h"
#include <lua5.4/lauxlib.h>

int bench_c_add(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)((lua_Unsigned)lua_tointegerx(L, 1, NULL) + (lua_Unsigned)lua_tointegerx(L, 2, NULL)));
    return 1;
}

int bench_c_checked_add(lua_State *L) {
    lua_Integer a = luaL_checkinteger(L, 1), b = luaL_checkinteger(L, 2);
    lua_pushinteger(L, (lua_Integer)((lua_Unsigned)a + (lua_Unsigned)b));
    return 1;
}
