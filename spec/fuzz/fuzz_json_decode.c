/*
 * fuzz_json_decode: sp_json_decode (json.c) on arbitrary bytes.
 *
 * Checks, besides memory safety:
 *   - the stack: one value pushed on success, nothing on failure (the
 *     "leaves the stack as it found it" contract), and a NUL-terminated
 *     error message naming a byte offset inside the input;
 *   - the shape of the result: arrays carry the sendpulse.array metatable
 *     and hold exactly the keys 1..n, objects have string keys only, null
 *     is the NULL light userdata, nothing nests deeper than the limit;
 *   - acceptance agrees with an independent RFC 8259 syntax checker (the
 *     only sanctioned differences: nesting and number-length limits);
 *   - a smaller nesting limit never accepts what the default refuses, and
 *     both give the same value when both accept.
 */
#include "fuzz_common.h"

/* ---- an independent JSON syntax checker -------------------------------- */

typedef struct {
	const unsigned char *p, *end;
	int depth, maxdepth_seen;
} ref;

static void r_ws(ref *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
			*r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int r_value(ref *r);

static int r_string(ref *r)
{
	r->p++;	/* the quote */
	while (r->p < r->end) {
		unsigned char c = *r->p++;
		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (r->p >= r->end)
				return 0;
			c = *r->p++;
			if (c == 'u') {
				int i;
				if (r->end - r->p < 4)
					return 0;
				for (i = 0; i < 4; i++) {
					unsigned char h = r->p[i];
					if (!((h >= '0' && h <= '9') ||
							(h >= 'a' && h <= 'f') ||
							(h >= 'A' && h <= 'F')))
						return 0;
				}
				r->p += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return 0;
			}
		}
	}
	return 0;
}

static int r_digits(ref *r)
{
	const unsigned char *s = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > s;
}

static int r_number(ref *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end)
		return 0;
	if (*r->p == '0')
		r->p++;
	else if (!r_digits(r))
		return 0;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!r_digits(r))
			return 0;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!r_digits(r))
			return 0;
	}
	return 1;
}

static int r_word(ref *r, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return 0;
	r->p += n;
	return 1;
}

static int r_value(ref *r)
{
	int ok;
	r_ws(r);
	if (r->p >= r->end)
		return 0;
	switch (*r->p) {
	case '{':
	case '[': {
		unsigned char close = *r->p == '{' ? '}' : ']';
		int obj = *r->p == '{';
		if (++r->depth > r->maxdepth_seen)
			r->maxdepth_seen = r->depth;
		if (r->depth > 100000)
			return 0;
		r->p++;
		r_ws(r);
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return 1;
		}
		for (;;) {
			r_ws(r);
			if (obj) {
				if (r->p >= r->end || *r->p != '"' || !r_string(r))
					return 0;
				r_ws(r);
				if (r->p >= r->end || *r->p != ':')
					return 0;
				r->p++;
			}
			if (!r_value(r))
				return 0;
			r_ws(r);
			if (r->p >= r->end)
				return 0;
			if (*r->p == ',') {
				r->p++;
				continue;
			}
			if (*r->p != close)
				return 0;
			r->p++;
			break;
		}
		r->depth--;
		return 1;
	}
	case '"':
		return r_string(r);
	case 't':
		return r_word(r, "true");
	case 'f':
		return r_word(r, "false");
	case 'n':
		return r_word(r, "null");
	default:
		ok = r_number(r);
		return ok;
	}
}

static int ref_accepts(const uint8_t *d, size_t n, int *depth)
{
	ref r;
	r.p = d;
	r.end = d + n;
	r.depth = r.maxdepth_seen = 0;
	if (!r_value(&r))
		return 0;
	r_ws(&r);
	*depth = r.maxdepth_seen;
	return r.p == r.end;
}

/* ---- shape of a decoded value ------------------------------------------ */

static void check_shape(lua_State *L, int idx, int depth, int maxdepth)
{
	idx = lua_absindex(L, idx);
	FZ_CHECK(depth <= maxdepth, "nesting %d beyond the limit %d", depth,
		maxdepth);
	luaL_checkstack(L, 6, "shape");
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
		return;
	case LUA_TLIGHTUSERDATA:
		FZ_CHECK(lua_touserdata(L, idx) == NULL,
			"a light userdata other than null");
		return;
	case LUA_TTABLE: {
		int isarray = 0;
		lua_Integer n = 0, count = 0;
		if (lua_getmetatable(L, idx)) {
			luaL_getmetatable(L, SP_ARRAY_MT);
			isarray = lua_rawequal(L, -1, -2);
			FZ_CHECK(isarray, "a table with a foreign metatable");
			lua_pop(L, 2);
		}
		n = (lua_Integer)lua_rawlen(L, idx);
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			count++;
			if (isarray) {
				FZ_CHECK(lua_isinteger(L, -2) &&
					lua_tointeger(L, -2) >= 1 &&
					lua_tointeger(L, -2) <= n,
					"array with a key outside 1..#t");
			} else {
				FZ_CHECK(lua_type(L, -2) == LUA_TSTRING,
					"object with a non-string key");
			}
			check_shape(L, -1, depth + 1, maxdepth);
			lua_pop(L, 1);
		}
		if (isarray)
			FZ_CHECK(count == n, "array with holes");
		return;
	}
	default:
		FZ_FAIL("decoded a %s", luaL_typename(L, idx));
	}
}

/* Deep equality of two decoded values (numbers: same subtype and value). */
static int same_value(lua_State *L, int a, int b)
{
	int t = lua_type(L, a);
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (t != lua_type(L, b))
		return 0;
	if (t == LUA_TNUMBER) {
		if (lua_isinteger(L, a) != lua_isinteger(L, b))
			return 0;
		if (lua_isinteger(L, a))
			return lua_tointeger(L, a) == lua_tointeger(L, b);
		{
			lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
			return memcmp(&x, &y, sizeof x) == 0;
		}
	}
	if (t != LUA_TTABLE)
		return lua_rawequal(L, a, b);
	return fz_same_table(L, a, b, same_value);
}

/* ---- the target -------------------------------------------------------- */

typedef struct {
	const uint8_t *d;
	size_t n;
	int mode;
} ctx;

static void check_err(const char *err, size_t errlen, size_t n)
{
	const char *at;
	unsigned long pos;
	FZ_CHECK(memchr(err, '\0', errlen) != NULL, "error not terminated");
	FZ_CHECK(err[0] != '\0', "empty error message");
	at = strstr(err, " at byte ");
	FZ_CHECK(at != NULL, "error without a position: %s", err);
	pos = strtoul(at + 9, NULL, 10);
	FZ_CHECK(pos >= 1 && pos <= n + 1, "error position %lu outside "
		"1..%lu: %s", pos, (unsigned long)n + 1, err);
}

static int body(lua_State *L, void *ud)
{
	ctx *c = ud;
	const char *s = (const char *)c->d;
	char err[128], err2[128];
	int top = lua_gettop(L), ok, ok2, small, refok, refdepth = 0;

	memset(err, 'x', sizeof err);
	ok = sp_json_decode(L, s, c->n, 0, err, sizeof err);
	FZ_CHECK(lua_gettop(L) == top + (ok ? 1 : 0), "stack %d -> %d after "
		"decode (ok=%d)", top, lua_gettop(L), ok);
	if (!ok)
		check_err(err, sizeof err, c->n);
	else
		check_shape(L, -1, 0, SP_JSON_MAXDEPTH);

	/* Acceptance against the reference. Memory errors raise rather than
	 * return 0, so this holds under every allocator mode. */
	refok = ref_accepts(c->d, c->n, &refdepth);
	if (ok) {
		FZ_CHECK(refok, "decoder accepts what RFC 8259 refuses");
	} else if (refok && !strstr(err, "number too long") &&
			!(strstr(err, "nesting too deep") &&
			refdepth > SP_JSON_MAXDEPTH)) {
		fz_dump("input", c->d, c->n);
		FZ_FAIL("decoder refuses valid JSON (depth %d): %s", refdepth,
			err);
	}

	/* a small limit, from the input itself */
	small = 1 + (int)(c->n % 7);
	ok2 = sp_json_decode(L, s, c->n, small, err2, sizeof err2);
	FZ_CHECK(lua_gettop(L) == top + ok + ok2, "stack after the second "
		"decode");
	if (ok2) {
		check_shape(L, -1, 0, small);
		FZ_CHECK(ok, "maxdepth %d accepted what the default refused: %s",
			small, err);
		FZ_CHECK(same_value(L, -1, -2), "results differ with maxdepth");
	} else {
		check_err(err2, sizeof err2, c->n);
		if (ok)
			FZ_CHECK(strstr(err2, "nesting too deep") &&
				refdepth > small, "maxdepth %d refused a value "
				"of depth %d: %s", small, refdepth, err2);
	}
	lua_settop(L, top);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx c;
	int st;
	c.d = d;
	c.n = n;
	c.mode = mode;
	st = fz_pcall(L, body, &c, mode, at, count);
	fz_expect_status(st, mode, "sp_json_decode");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
