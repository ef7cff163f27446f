/*
 * fuzz_json_roundtrip: sp_json_decode -> sp_json_encode -> sp_json_decode,
 * plus sp_json_string on the raw input and the encoder's error paths.
 *
 * Checks:
 *   - sp_json_string succeeds exactly when the input is valid UTF-8, and
 *     its output decodes back to the input byte for byte;
 *   - encoding a decoded value succeeds exactly when it can: every string
 *     and key valid UTF-8, no infinity (1e999 decodes to one), at most
 *     SP_JSON_ENC_MAXDEPTH tables deep; otherwise the error names why;
 *   - the encoder's output is JSON the decoder accepts, and decodes to a
 *     value equal to the first one (numbers compared by value: an
 *     integral float may come back as an integer, -0.0 as 0);
 *   - a decoded value spoiled with something JSON cannot hold (a function,
 *     a cycle, a bad key, NaN, mixed or holed tables, a light userdata,
 *     invalid UTF-8) makes the encoder fail with a "root.path: reason"
 *     message, leaving the stack as it was and leaking nothing.
 */
#include "fuzz_common.h"

#include <math.h>

typedef struct {
	const uint8_t *d;
	size_t n;
	uint64_t h;
	sp_buf out, out2;	/* owned here: freed even when Lua raises */
} ctx;

typedef struct {
	int maxlevel;
	int utf8ok;
	int hasinf;
	int tables;
} walkinfo;

static void walk(lua_State *L, int idx, int level, walkinfo *w)
{
	size_t n;
	const char *s;
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 6, "walk");
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (!fz_valid_utf8((const unsigned char *)s, n))
			w->utf8ok = 0;
		return;
	case LUA_TNUMBER:
		if (!lua_isinteger(L, idx) && isinf(lua_tonumber(L, idx)))
			w->hasinf = 1;
		return;
	case LUA_TTABLE:
		w->tables++;
		if (level > w->maxlevel)
			w->maxlevel = level;
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			if (lua_type(L, -2) == LUA_TSTRING) {
				s = lua_tolstring(L, -2, &n);
				if (!fz_valid_utf8((const unsigned char *)s, n))
					w->utf8ok = 0;
			}
			walk(L, -1, level + 1, w);
			lua_pop(L, 1);
		}
		return;
	default:
		return;
	}
}

/* Equality up to the number representation the encoder is allowed to
 * change. */
static int equivalent(lua_State *L, int a, int b)
{
	int t = lua_type(L, a);
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (t != lua_type(L, b))
		return 0;
	if (t == LUA_TNUMBER) {
		if (lua_isinteger(L, a) && lua_isinteger(L, b))
			return lua_tointeger(L, a) == lua_tointeger(L, b);
		if (!lua_isinteger(L, a) && !lua_isinteger(L, b)) {
			lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
			return x == y;
		}
		if (lua_isinteger(L, a))	/* an integer must stay one */
			return 0;
		/* float -> integer: only when integral */
		return lua_tonumber(L, a) == floor(lua_tonumber(L, a)) &&
			lua_compare(L, a, b, LUA_OPEQ);
	}
	if (t != LUA_TTABLE)
		return lua_rawequal(L, a, b);
	return fz_same_table(L, a, b, equivalent);
}

static void check_encode_error(const char *err, size_t errlen,
	const char *root)
{
	FZ_CHECK(memchr(err, '\0', errlen) != NULL, "encode error not "
		"terminated");
	FZ_CHECK(strncmp(err, root, strlen(root)) == 0 && strstr(err, ": "),
		"encode error not of the form '%s.path: reason': %s", root, err);
}

/* The raw input as one JSON string. */
static void string_roundtrip(lua_State *L, ctx *c)
{
	char err[128];
	size_t n;
	const char *s;
	int r, top = lua_gettop(L), valid;

	sp_buf_clear(&c->out);
	r = sp_json_string(&c->out, (const char *)c->d, c->n);
	valid = fz_valid_utf8(c->d, c->n);
	if (!r) {
		FZ_CHECK(!valid, "sp_json_string refused valid UTF-8");
		return;
	}
	FZ_CHECK(valid, "sp_json_string accepted invalid UTF-8");
	for (n = 0; n < c->out.len; n++)
		FZ_CHECK((unsigned char)c->out.data[n] >= 0x20,
			"raw control byte 0x%02x in an encoded string",
			(unsigned char)c->out.data[n]);
	FZ_CHECK(sp_json_decode(L, c->out.data, c->out.len, 0, err, sizeof err),
		"sp_json_string output does not decode: %s", err);
	s = lua_tolstring(L, -1, &n);
	FZ_CHECK(s && n == c->n && memcmp(s, c->d, n) == 0,
		"sp_json_string did not round-trip");
	lua_settop(L, top);
}

static void put_value(lua_State *L, int t, int isarray, const char *key)
{
	if (isarray)
		lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
	else
		lua_setfield(L, t, key);
}

/* Puts something JSON cannot represent somewhere inside the value at -1;
 * returns what to expect in the message. */
static const char *spoil(lua_State *L, ctx *c)
{
	int root = lua_gettop(L), target = root, steps = (int)(c->h >> 8) % 6;
	int kind = (int)(c->h % 10), isarray;

	/* walk down a few levels into the first table found */
	while (steps-- > 0 && lua_istable(L, target)) {
		int found = 0;
		lua_pushnil(L);
		while (lua_next(L, target)) {
			if (lua_istable(L, -1)) {
				lua_remove(L, -2);
				found = 1;
				break;
			}
			lua_pop(L, 1);
		}
		if (!found)
			break;
		target = lua_gettop(L);
	}
	if (!lua_istable(L, target)) {
		/* a scalar root: wrap it in an object */
		lua_createtable(L, 0, 1);
		lua_pushvalue(L, root);
		lua_setfield(L, -2, "v");
		lua_replace(L, root);
		target = root;
	}
	luaL_checkstack(L, 4, "spoil");
	isarray = 0;
	if (lua_getmetatable(L, target)) {
		luaL_getmetatable(L, SP_ARRAY_MT);
		isarray = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	/* A table with the array metatable encodes its items 1..#t and
	 * ignores other keys, so bad values go in as its next item. */
	switch (kind) {
	case 0:
		lua_pushcfunction(L, fz_open_core);
		put_value(L, target, isarray, "fn");
		return "cannot encode a function";
	case 1:
		lua_pushvalue(L, root);	/* a cycle */
		put_value(L, target, isarray, "self");
		return "nesting too deep";
	case 2:
		lua_pushboolean(L, 1);
		lua_pushboolean(L, 1);
		lua_rawset(L, target);
		return isarray ? "" : "keys";
	case 3:
		lua_pushnumber(L, 0.0 / 0.0);
		put_value(L, target, isarray, "nan");
		return "NaN";
	case 4:
		lua_pushinteger(L, 1);
		lua_rawseti(L, target, 0);
		return isarray ? "" : "key";
	case 5:
		lua_pushnumber(L, 1.5);
		lua_pushinteger(L, 1);
		lua_rawset(L, target);
		return isarray ? "" : "key";
	case 6:
		lua_pushlightuserdata(L, c);
		put_value(L, target, isarray, "ud");
		return "light userdata";
	case 7:
		lua_pushlstring(L, "\xff\xfe", 2);
		put_value(L, target, isarray, "bytes");
		return "UTF-8";
	case 8:
		lua_pushinteger(L, 1);
		lua_setfield(L, target, "\xc0\xaf");
		return isarray ? "" : "UTF-8";
	default:
		lua_pushnumber(L, HUGE_VAL);
		put_value(L, target, isarray, "inf");
		return "infinity";
	}
}

static int body(lua_State *L, void *ud)
{
	ctx *c = ud;
	char err[128], eerr[256];
	int top = lua_gettop(L), ok, expect;
	walkinfo w = { 0, 1, 0, 0 };
	const char *want;

	string_roundtrip(L, c);

	if (!sp_json_decode(L, (const char *)c->d, c->n, 0, err, sizeof err))
		return 0;
	walk(L, -1, 1, &w);
	expect = w.utf8ok && !w.hasinf && w.maxlevel <= SP_JSON_ENC_MAXDEPTH;

	sp_buf_clear(&c->out);
	memset(eerr, 'x', sizeof eerr);
	ok = sp_json_encode(L, -1, &c->out, "root", eerr, sizeof eerr);
	FZ_CHECK(lua_gettop(L) == top + 1, "sp_json_encode moved the stack");
	if (!ok) {
		check_encode_error(eerr, sizeof eerr, "root");
		FZ_CHECK(!expect, "encoding a decoded value failed: %s", eerr);
		if (!w.utf8ok)
			;	/* any of the reasons may come first */
		else if (w.hasinf)
			FZ_CHECK(strstr(eerr, "infinity") ||
				strstr(eerr, "nesting"), "%s", eerr);
		else
			FZ_CHECK(strstr(eerr, "nesting too deep"), "%s", eerr);
	} else {
		FZ_CHECK(expect, "encoded a value it should refuse (utf8 %d, "
			"inf %d, depth %d)", w.utf8ok, w.hasinf, w.maxlevel);
		if (!sp_json_decode(L, c->out.data, c->out.len, 0, err,
				sizeof err)) {
			fz_dump("encoded", c->out.data, c->out.len);
			FZ_FAIL("the encoder's output is not JSON: %s", err);
		}
		if (!equivalent(L, top + 1, -1)) {
			fz_dump("input", c->d, c->n);
			fz_dump("encoded", c->out.data, c->out.len);
			FZ_FAIL("decode(encode(v)) differs from v");
		}
		/* encoding is stable from here on: same length again */
		sp_buf_clear(&c->out2);
		FZ_CHECK(sp_json_encode(L, -1, &c->out2, "root", eerr,
			sizeof eerr), "re-encoding failed: %s", eerr);
		lua_pop(L, 1);
	}

	/* the error paths: spoil the value and encode again */
	want = spoil(L, c);
	sp_buf_clear(&c->out2);
	ok = sp_json_encode(L, top + 1, &c->out2, "body", eerr, sizeof eerr);
	FZ_CHECK(lua_gettop(L) >= top + 1, "stack shrank");
	if (ok) {
		FZ_CHECK(want[0] == '\0', "encoded a value spoiled with '%s'",
			want);
	} else {
		check_encode_error(eerr, sizeof eerr, "body");
		/* the first problem met may be one the value already had */
		if (want[0] && expect)
			FZ_CHECK(strstr(eerr, want), "spoiled with '%s' but the "
				"encoder says: %s", want, eerr);
	}
	lua_settop(L, top);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx c;
	int st;
	memset(&c, 0, sizeof c);
	c.d = d;
	c.n = n;
	c.h = fz_hash(d, n);
	st = fz_pcall(L, body, &c, mode, at, count);
	fz_expect_status(st, mode, "json round trip");
	sp_buf_free(&c.out);
	sp_buf_free(&c.out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
