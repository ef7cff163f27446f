/*
 * compat.h - the few Lua C API differences between 5.1/LuaJIT and 5.4.
 *
 * Every helper has its own sp_ name instead of redefining a lua_/luaL_
 * symbol: LuaJIT 2.1 already declares luaL_setfuncs, luaL_testudata and
 * luaL_newlib while reporting LUA_VERSION_NUM 501, so redefining them per
 * version would clash there (and calling LuaJIT's own would make the module
 * unloadable in PUC 5.1).
 */
#ifndef SENDPULSE_COMPAT_H
#define SENDPULSE_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 503
#define SP_HAVE_INTEGERS 1
#else
#define SP_HAVE_INTEGERS 0
#endif

static inline int sp_absindex(lua_State *L, int idx)
{
	return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

/* Register functions with nup shared upvalues into the table below them. */
static inline void sp_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
	luaL_checkstack(L, nup + 1, "too many upvalues");
	for (; l->name != NULL; l++) {
		int i;
		for (i = 0; i < nup; i++)
			lua_pushvalue(L, -nup);
		lua_pushcclosure(L, l->func, nup);
		lua_setfield(L, -(nup + 2), l->name);
	}
	lua_pop(L, nup);
}

static inline size_t sp_rawlen(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 502
	return (size_t)lua_rawlen(L, idx);
#else
	return (size_t)lua_objlen(L, idx);
#endif
}

/* A userdata that can carry one Lua value alongside (its "uservalue"). */
static inline void *sp_newuserdata(lua_State *L, size_t size)
{
#if LUA_VERSION_NUM >= 504
	return lua_newuserdatauv(L, size, 1);
#else
	return lua_newuserdata(L, size);
#endif
}

/* Pops the top value and stores it as the uservalue of the userdata at idx. */
static inline void sp_setuservalue(lua_State *L, int idx)
{
	idx = sp_absindex(L, idx);
#if LUA_VERSION_NUM >= 504
	lua_setiuservalue(L, idx, 1);
#elif LUA_VERSION_NUM >= 502
	lua_setuservalue(L, idx);
#else
	/* 5.1 environments must be tables: wrap the value. */
	lua_createtable(L, 1, 0);
	lua_insert(L, -2);
	lua_rawseti(L, -2, 1);
	lua_setfenv(L, idx);
#endif
}

/* Is the value at idx a userdata with the metatable registered as tname? */
static inline void *sp_testudata(lua_State *L, int idx, const char *tname)
{
	void *p = lua_touserdata(L, idx);
	if (p == NULL || !lua_getmetatable(L, idx))
		return NULL;
	luaL_getmetatable(L, tname);
	if (!lua_rawequal(L, -1, -2))
		p = NULL;
	lua_pop(L, 2);
	return p;
}

static inline int sp_isinteger(lua_State *L, int idx)
{
#if SP_HAVE_INTEGERS
	return lua_isinteger(L, idx);
#else
	(void)L; (void)idx;
	return 0;
#endif
}

static inline void sp_pushint(lua_State *L, long long v)
{
#if SP_HAVE_INTEGERS
	lua_pushinteger(L, (lua_Integer)v);
#else
	lua_pushnumber(L, (lua_Number)v);
#endif
}

#endif
