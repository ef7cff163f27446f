/*
 * fuzz_resp: the Redis reply parser of redis.c -- sp_resp_scan (is the
 * buffer one complete, well-formed reply?) and sp_resp_push (its Lua
 * value), as conn:call uses them.
 *
 * Input: one byte choosing max_reply (below 0x80: 64 + 8 * byte, so the
 * size limits are reached; otherwise 512 MiB), then the bytes the server
 * sent.
 *
 * Checks:
 *   - the verdict agrees with an independent recursive parser of the RESP2
 *     grammar (no limits): what it finds malformed the scanner refuses; a
 *     reply it finds complete the scanner accepts with the same length,
 *     unless that reply breaks a limit (max_reply, nesting deeper than
 *     SP_RESP_MAXDEPTH, a line too long), which the scanner then refuses;
 *     an incomplete reply is "more" or refused for a limit only;
 *   - fed in chunks (the same scanner resumed on a growing buffer, each
 *     prefix in an allocation of its exact size), the scanner reaches the
 *     same verdict, says "more" before, and never reads past the prefix;
 *   - sp_resp_push pushes exactly one value, its type code matches the
 *     reply's first byte, and the value is the reference's: status and
 *     bulk strings byte for byte, integers exact (on 5.4), nil as false,
 *     nested errors as { err = msg }, arrays in order and without holes;
 *   - under refused allocations, push fails only with a memory error and
 *     leaves the stack as it was.
 */
#include "fuzz_common.h"
#include "redis.h"

#include <errno.h>

/* ---- the reference: a recursive parser with no limits ----------------- */

typedef struct {
	const uint8_t *b;
	size_t n;
	int max_depth;		/* deepest nesting of non-empty arrays seen */
	int long_line;		/* a line longer than the scanner accepts */
	sp_buf desc;		/* canonical description of the value */
} ref;

enum { R_BAD = -1, R_MORE = 0, R_DONE = 1 };

static int ref_number(const uint8_t *s, size_t n, long long *out)
{
	char tmp[64], *end;
	size_t i = 0, digits;
	if (n > 0 && s[0] == '-')
		i = 1;
	digits = n - i;
	if (digits < 1 || digits > 19)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0';
}

static void ref_desc(ref *r, const char *fmt, long long v)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, fmt, v);
	if (!sp_buf_adds(&r->desc, tmp))
		abort();
}

static void ref_bytes(ref *r, char tag, const uint8_t *p, size_t n)
{
	ref_desc(r, tag == 's' ? "s%lld:" : tag == 'E' ? "E%lld:" : "e%lld:",
		(long long)n);
	if (!sp_buf_add(&r->desc, p, n))
		abort();
}

/* Parses the value at pos; *end is where the next one starts. */
static int ref_value(ref *r, size_t pos, int depth, int top, size_t *end)
{
	const uint8_t *b = r->b, *nl;
	size_t line, len, i;
	long long v;
	uint8_t t;

	if (pos >= r->n)
		return R_MORE;
	t = b[pos];
	if (!strchr("+-:$*", t) || t == 0)
		return R_BAD;
	nl = pos + 1 < r->n ? memchr(b + pos + 1, '\n', r->n - pos - 1) : NULL;
	if (nl == NULL)
		return R_MORE;
	/* the line is b[pos+1 .. nl-1), then CR LF, and no CR inside */
	if ((size_t)(nl - b) < pos + 2 || nl[-1] != '\r')
		return R_BAD;
	line = pos + 1;
	len = (size_t)(nl - b) - 1 - line;
	for (i = 0; i < len; i++)
		if (b[line + i] == '\r')
			return R_BAD;
	if (len > ((t == '+' || t == '-') ? SP_RESP_LINE_MAX : SP_RESP_NUM_MAX))
		r->long_line = 1;
	*end = (size_t)(nl - b) + 1;
	switch (t) {
	case '+':
		ref_bytes(r, 's', b + line, len);
		return R_DONE;
	case '-':
		ref_bytes(r, top ? 'E' : 'e', b + line, len);
		return R_DONE;
	case ':':
		if (!ref_number(b + line, len, &v))
			return R_BAD;
		ref_desc(r, "i%lld", v);
		return R_DONE;
	case '$':
		if (!ref_number(b + line, len, &v) || v < -1)
			return R_BAD;
		if (v == -1) {
			ref_desc(r, "n", 0);
			return R_DONE;
		}
		if ((unsigned long long)v > r->n || *end + (size_t)v + 2 > r->n)
			return R_MORE;
		if (b[*end + v] != '\r' || b[*end + v + 1] != '\n')
			return R_BAD;
		ref_bytes(r, 's', b + *end, (size_t)v);
		*end += (size_t)v + 2;
		return R_DONE;
	default: {	/* '*' */
		long long k;
		size_t at = *end;
		if (!ref_number(b + line, len, &v) || v < -1)
			return R_BAD;
		if (v == -1) {
			ref_desc(r, "n", 0);
			return R_DONE;
		}
		if (v > 0 && depth + 1 > r->max_depth)
			r->max_depth = depth + 1;
		ref_desc(r, "a%lld[", v);
		for (k = 0; k < v; k++) {
			int st = ref_value(r, at, depth + 1, 0, &at);
			if (st != R_DONE)
				return st;
		}
		ref_desc(r, "]", 0);
		*end = at;
		return R_DONE;
	}
	}
}

/* ---- the Lua value, described the same way ---------------------------- */

static void lua_desc(lua_State *L, int idx, int top, int type, sp_buf *out)
{
	char tmp[48];
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		FZ_CHECK(!top || type == SP_RESP_T_STATUS || type == SP_RESP_T_BULK ||
			type == SP_RESP_T_ERROR, "a string for type %d", type);
		snprintf(tmp, sizeof tmp, "%c%lld:", top && type == SP_RESP_T_ERROR ?
			'E' : 's', (long long)n);
		if (!sp_buf_adds(out, tmp) || !sp_buf_add(out, s, n))
			abort();
		return;
	}
	case LUA_TNUMBER:
		FZ_CHECK(!top || type == SP_RESP_T_INTEGER, "a number for type %d",
			type);
#if LUA_VERSION_NUM >= 503
		FZ_CHECK(lua_isinteger(L, idx), "an integer reply as a float");
		snprintf(tmp, sizeof tmp, "i%lld", (long long)lua_tointeger(L, idx));
#else
		snprintf(tmp, sizeof tmp, "i%.0f", (double)lua_tonumber(L, idx));
#endif
		if (!sp_buf_adds(out, tmp))
			abort();
		return;
	case LUA_TBOOLEAN:
		FZ_CHECK(!lua_toboolean(L, idx), "true in a reply");
		FZ_CHECK(!top || type == SP_RESP_T_NIL, "false for type %d", type);
		if (!sp_buf_adds(out, "n"))
			abort();
		return;
	case LUA_TTABLE: {
		size_t n = lua_rawlen(L, idx), i, keys = 0;
		FZ_CHECK(!top || type == SP_RESP_T_ARRAY, "a table for type %d", type);
		lua_getfield(L, idx, "err");
		if (lua_type(L, -1) == LUA_TSTRING) {
			size_t len;
			const char *s = lua_tolstring(L, -1, &len);
			FZ_CHECK(!top, "a top-level error as a table");
			snprintf(tmp, sizeof tmp, "e%lld:", (long long)len);
			if (!sp_buf_adds(out, tmp) || !sp_buf_add(out, s, len))
				abort();
			lua_pop(L, 1);
			return;
		}
		FZ_CHECK(lua_isnil(L, -1), "an err field that is not a string");
		lua_pop(L, 1);
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			keys++;
			lua_pop(L, 1);
		}
		FZ_CHECK(keys == n, "an array with %lu keys and length %lu",
			(unsigned long)keys, (unsigned long)n);
		snprintf(tmp, sizeof tmp, "a%lld[", (long long)n);
		if (!sp_buf_adds(out, tmp))
			abort();
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			lua_desc(L, -1, 0, 0, out);
			lua_pop(L, 1);
		}
		if (!sp_buf_adds(out, "]"))
			abort();
		return;
	}
	default:
		FZ_FAIL("a %s in a reply", luaL_typename(L, idx));
	}
}

/* ---- the target -------------------------------------------------------- */

typedef struct {
	const char *b;
	size_t used;
	int type;
} push_ctx;

static int push_body(lua_State *L, void *ud)
{
	push_ctx *p = ud;
	int top = lua_gettop(L);
	p->type = sp_resp_push(L, p->b, p->used);
	FZ_CHECK(lua_gettop(L) == top + 1, "push left %d values",
		lua_gettop(L) - top);
	return 0;
}

static int is_limit(const char *why)
{
	return strstr(why, "max_reply") || strstr(why, "too long") ||
		strstr(why, "too deeply");
}

static void run(lua_State *L, const uint8_t *data, size_t size, int mode,
	unsigned long at, unsigned long *count)
{
	sp_resp_scanner sc;
	const uint8_t *b;
	size_t n, max, used = 0, rend = 0;
	const char *why = "";
	int st, rst;
	ref r;

	memset(&r, 0, sizeof r);
	if (size < 1)
		return;
	max = data[0] < 0x80 ? 64 + 8 * (size_t)data[0] : SP_REDIS_REPLY_MAX;
	b = data + 1;
	n = size - 1;

	sp_resp_scan_init(&sc);
	st = sp_resp_scan(&sc, (const char *)b, n, max, &used, &why);

	if (mode == FZ_ALLOC_COUNT) {
		r.b = b;
		r.n = n;
		rst = ref_value(&r, 0, 0, 1, &rend);
		if (rst == R_BAD) {
			FZ_CHECK(st == SP_RESP_BAD, "accepted a malformed reply "
				"(verdict %d)", st);
		} else if (rst == R_DONE) {
			int limited = rend > max || r.max_depth > SP_RESP_MAXDEPTH ||
				r.long_line;
			if (limited)
				FZ_CHECK(st == SP_RESP_BAD && is_limit(why), "a reply "
					"beyond a limit not refused (verdict %d)", st);
			else
				FZ_CHECK(st == SP_RESP_DONE && used == rend, "a complete "
					"reply of %lu bytes: verdict %d, length %lu",
					(unsigned long)rend, st, (unsigned long)used);
		} else {
			FZ_CHECK(st == SP_RESP_MORE || (st == SP_RESP_BAD &&
				is_limit(why)), "an incomplete reply: verdict %d (%s)",
				st, why);
		}

		/* the same in chunks, resumed on a growing buffer */
		{
			sp_resp_scanner inc;
			size_t k = 0, used2 = 0;
			uint64_t h = fz_hash(data, size);
			int st2 = SP_RESP_MORE;
			const char *why2 = "";
			sp_resp_scan_init(&inc);
			while (k < n && st2 == SP_RESP_MORE) {
				char *copy;
				size_t step = 1 + (size_t)(h % 7) * (1 + (size_t)(h >> 8) % 64);
				h = h * 6364136223846793005ULL + 1442695040888963407ULL;
				k = k + step > n ? n : k + step;
				copy = malloc(k ? k : 1);
				if (!copy)
					abort();
				memcpy(copy, b, k);
				st2 = sp_resp_scan(&inc, copy, k, max, &used2, &why2);
				free(copy);
				if (st == SP_RESP_DONE && k < used)
					FZ_CHECK(st2 == SP_RESP_MORE, "a prefix of %lu bytes "
						"of a %lu-byte reply: verdict %d",
						(unsigned long)k, (unsigned long)used, st2);
			}
			if (n == 0)
				st2 = SP_RESP_MORE;
			FZ_CHECK(st2 == st, "in chunks: verdict %d, whole: %d", st2, st);
			if (st == SP_RESP_DONE)
				FZ_CHECK(used2 == used, "in chunks: length %lu, whole: %lu",
					(unsigned long)used2, (unsigned long)used);
		}
	}

	if (st == SP_RESP_DONE) {
		push_ctx p;
		int pst, top = lua_gettop(L);
		char *copy = malloc(used);
		if (!copy)
			abort();
		memcpy(copy, b, used);	/* exactly the reply: overreads show */
		p.b = copy;
		p.used = used;
		p.type = 0;
		pst = fz_pcall(L, push_body, &p, mode, at, count);
		if (mode == FZ_ALLOC_COUNT) {
			sp_buf mine;
			static const char first[] = { 0, '+', '-', ':', '$', 0, '*' };
			fz_expect_status(pst, mode, "sp_resp_push");
			FZ_CHECK(p.type >= SP_RESP_T_STATUS && p.type <= SP_RESP_T_ARRAY,
				"type code %d", p.type);
			if (p.type == SP_RESP_T_NIL)
				FZ_CHECK(b[0] == '$' || b[0] == '*', "nil from '%c'", b[0]);
			else
				FZ_CHECK(b[0] == first[p.type], "type %d from '%c'", p.type,
					b[0]);
			/* run again to look at the value */
			p.type = sp_resp_push(L, copy, used);
			memset(&mine, 0, sizeof mine);
			lua_desc(L, -1, 1, p.type, &mine);
			FZ_CHECK(mine.len == r.desc.len &&
				memcmp(mine.data, r.desc.data, mine.len) == 0,
				"the value differs from the reference");
			sp_buf_free(&mine);
			lua_settop(L, top);
		} else {
			fz_expect_status(pst, mode, "sp_resp_push");
			FZ_CHECK(lua_gettop(L) == top, "stack not restored");
		}
		free(copy);
	}
	if (mode == FZ_ALLOC_COUNT)
		sp_buf_free(&r.desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
