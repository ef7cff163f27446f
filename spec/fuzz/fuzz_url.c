/*
 * fuzz_url: url.c -- sp_parse_base_url, sp_check_path, sp_escape_segment,
 * sp_check_header_value and sp_encode_query, all on the same input.
 *
 * Checks:
 *   - sp_parse_base_url: when it accepts, the fields it fills describe a
 *     sane endpoint (http only for loopback, port 1..65535, a host of
 *     RFC 3986 host characters, a base path that sp_check_path accepts
 *     and that has no trailing '/', origin = scheme://host:port);
 *   - sp_check_path agrees with an independent checker of the documented
 *     rules (leading '/', no empty or dot segment -- percent-encoded dots
 *     included --, only pchar or valid %XX, no '?' or '#', at most 8192);
 *   - sp_escape_segment output is only unreserved characters and %XX and
 *     decodes back to the input; unless sp_is_dot_segment says the input
 *     is "." or ".." (which callers refuse: no encoding is safe), it is
 *     never a dot segment and "/" + it passes sp_check_path;
 *   - sp_check_header_value refuses exactly CR, LF, NUL and the other
 *     controls but HTAB (and DEL);
 *   - sp_encode_query on a table built from the input (one "key=value"
 *     per line; value prefixes pick the type: "i:" integer, "f:" float
 *     via strtod, so 1e300/inf/nan/-0 too, "b:" boolean, "l:" a list
 *     split on ',', "e:" an empty table, "t:" a list holding a table;
 *     a key starting with '#' becomes a number key): raises exactly when
 *     the table has no query form, and otherwise produces only
 *     unreserved/%XX/=/& bytes, keys in sorted order, that decode back to
 *     the table's contents (numbers by value).
 */
#include "fuzz_common.h"

#include <math.h>

typedef struct {
	const uint8_t *d;
	size_t n;
	sp_client c;		/* only the endpoint fields are used */
	sp_buf seg, q;
	int bad;
} ctx;

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		c == '~';
}

static int hexv(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s into out (at least n bytes); -1 on a bad escape. */
static long pct_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexv((unsigned char)s[i + 1]);
			l = hexv((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (char)(h << 4 | l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return (long)o;
}

/* ---- the reference path checker ---------------------------------------- */

static int pchar(unsigned char c)
{
	return unreserved(c) || strchr("!$&'()*+,;=:@", c) != NULL;
}

static int ref_path_ok(const char *p, size_t n)
{
	size_t i = 1, start;
	if (n == 0 || p[0] != '/' || n > 8192)
		return 0;
	while (i <= n) {
		char dec[8200];
		long dn;
		start = i;
		while (i < n && p[i] != '/')
			i++;
		/* segment [start, i) */
		if (i == start && i < n)
			return 0;	/* "//" */
		{
			size_t j;
			for (j = start; j < i; j++) {
				unsigned char c = (unsigned char)p[j];
				if (c == '%') {
					if (j + 2 >= i || hexv((unsigned char)p[j + 1]) < 0
							|| hexv((unsigned char)p[j + 2]) < 0)
						return 0;
					j += 2;
				} else if (c == 0 || !pchar(c)) {
					return 0;
				}
			}
		}
		dn = pct_decode(p + start, i - start, dec);
		if (dn < 0)
			return 0;
		/* only dots, written plainly or as %2e, count as a dot segment:
		 * decoding also turns %2E into '.', so compare the decoded
		 * text and check no other escape produced the dots */
		if ((dn == 1 && dec[0] == '.') ||
				(dn == 2 && dec[0] == '.' && dec[1] == '.'))
			return 0;
		i++;
	}
	return 1;
}

/* ---- base URL ---------------------------------------------------------- */

static int host_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.';
}

static void check_base_url(ctx *x)
{
	sp_client *c = &x->c;
	const char *why = sp_parse_base_url(c, (const char *)x->d, x->n);
	size_t i;
	char *want;

	if (why != NULL) {
		FZ_CHECK(why[0] != '\0', "empty reason");
		return;
	}
	FZ_CHECK(c->port >= 1 && c->port <= 65535, "port %d", c->port);
	FZ_CHECK(c->host.len > 0 && c->host.data, "no host");
	FZ_CHECK(strlen(c->host.data) == c->host.len, "NUL in the host");
	if (c->host.data[0] == '[') {
		FZ_CHECK(c->host.data[c->host.len - 1] == ']', "IPv6 host %s",
			c->host.data);
		/* an IP-literal: hex digits, ':' and '.' (an IPv4 tail) */
		for (i = 1; i + 1 < c->host.len; i++)
			FZ_CHECK_ID("url_ipv6_literal",
				hexv((unsigned char)c->host.data[i]) >= 0 ||
				c->host.data[i] == ':' || c->host.data[i] == '.',
				"base_url accepted the host \"%s\": byte 0x%02x "
				"cannot be in an IPv6 address, and the host goes "
				"verbatim into the Host header and the URL",
				c->host.data, (unsigned char)c->host.data[i]);
	} else {
		for (i = 0; i < c->host.len; i++)
			FZ_CHECK(host_char((unsigned char)c->host.data[i]),
				"host byte 0x%02x",
				(unsigned char)c->host.data[i]);
	}
	if (!c->tls)
		FZ_CHECK(strcmp(c->host.data, "localhost") == 0 ||
			strncmp(c->host.data, "127.", 4) == 0 ||
			strcmp(c->host.data, "[::1]") == 0,
			"plain http to %s", c->host.data);
	if (c->base_path.len) {
		FZ_CHECK(sp_check_path(c->base_path.data, c->base_path.len) ==
			NULL, "base path refused by sp_check_path: %s",
			c->base_path.data);
		FZ_CHECK(c->base_path.data[c->base_path.len - 1] != '/',
			"base path with a trailing '/'");
	}
	want = malloc(c->host.len + 32);
	snprintf(want, c->host.len + 32, "%s://%s:%d", c->tls ? "https" : "http",
		c->host.data, c->port);
	FZ_CHECK(c->origin.data && strcmp(want, c->origin.data) == 0,
		"origin %s, want %s", c->origin.data, want);
	free(want);
}

/* ---- path segment ------------------------------------------------------ */

static void check_segment(ctx *x)
{
	sp_buf *b = &x->seg;
	size_t i;
	char *dec;
	long dn;
	sp_buf path = { NULL, 0, 0 };
	const char *why;
	int dot = sp_is_dot_segment((const char *)x->d, x->n);

	FZ_CHECK(dot == ((x->n == 1 && x->d[0] == '.') || (x->n == 2 &&
		x->d[0] == '.' && x->d[1] == '.')), "sp_is_dot_segment");
	sp_buf_clear(b);
	FZ_CHECK(sp_escape_segment(b, (const char *)x->d, x->n), "out of "
		"memory in sp_escape_segment");
	if (x->n == 0)
		return;
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '%') {
			FZ_CHECK(i + 2 < b->len && hexv((unsigned char)b->data[i + 1])
				>= 0 && hexv((unsigned char)b->data[i + 2]) >= 0,
				"bad escape in a segment");
			i += 2;
		} else {
			FZ_CHECK(unreserved(c), "segment byte 0x%02x left raw", c);
		}
	}
	dec = malloc(b->len + 1);
	dn = pct_decode(b->data, b->len, dec);
	FZ_CHECK(dn == (long)x->n && memcmp(dec, x->d, x->n) == 0,
		"segment does not decode back");
	free(dec);
	/* "." and ".." have no safe encoding: callers refuse them
	 * (sp_is_dot_segment); every other segment makes a valid path */
	if (dot)
		return;
	FZ_CHECK(strcmp(b->data, ".") && strcmp(b->data, ".."), "dot segment");
	if (b->len < 8000) {
		sp_buf_addc(&path, '/');
		sp_buf_add(&path, b->data, b->len);
		why = sp_check_path(path.data, path.len);
		sp_buf_free(&path);
		FZ_CHECK_ID("segment_dot", why == NULL, "sp_escape_segment "
			"output that sp_check_path refuses (%s): a path built "
			"with sendpulse.path cannot be called", why);
	}
}

/* ---- query ------------------------------------------------------------- */

/* Pushes the value described by the text; sets *bad when the query
 * encoder must refuse it. */
static void push_scalar(lua_State *L, const char *v, size_t n, int *bad)
{
	char tmp[80];
	size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
	if (n >= 2 && v[1] == ':' && strchr("ifb", v[0])) {
		memcpy(tmp, v + 2, k >= 2 ? k - 2 : 0);
		tmp[k >= 2 ? k - 2 : 0] = '\0';
		if (v[0] == 'i') {
			lua_pushinteger(L, (lua_Integer)strtoull(tmp, NULL, 0));
		} else if (v[0] == 'f') {
			double d = strtod(tmp, NULL);
			lua_pushnumber(L, d);
			if (isnan(d) || isinf(d))
				*bad = 1;
		} else {
			lua_pushboolean(L, tmp[0] == '1');
		}
		return;
	}
	lua_pushlstring(L, v, n);
}

typedef struct {
	int bad;
	int nkeys;
} qinfo;

static void build_query(lua_State *L, ctx *x, qinfo *qi)
{
	const uint8_t *d = x->d;
	size_t n = x->n;
	int t;

	lua_newtable(L);
	t = lua_gettop(L);
	qi->bad = 0;
	qi->nkeys = 0;
	while (n > 0) {
		const char *line, *k, *v;
		size_t ln, kn, vn;
		const uint8_t *ld;
		size_t lsz;
		fz_cut(&d, &n, '\n', &line, &ln);
		ld = (const uint8_t *)line;
		lsz = ln;
		if (!fz_cut(&ld, &lsz, '=', &k, &kn)) {
			v = "";
			vn = 0;
		} else {
			v = (const char *)ld;
			vn = lsz;
		}
		if (kn > 0 && k[0] == '#') {
			lua_pushinteger(L, (lua_Integer)kn);
			qi->bad = 1;
		} else {
			lua_pushlstring(L, k, kn);
		}
		lua_pushvalue(L, -1);
		lua_rawget(L, t);
		if (lua_isnil(L, -1))
			qi->nkeys++;
		lua_pop(L, 1);
		if (vn >= 2 && v[1] == ':' && strchr("let", v[0])) {
			int i = 0;
			lua_newtable(L);
			if (v[0] == 'e') {
				/* empty: refused */
			} else if (v[0] == 't') {
				lua_newtable(L);
				lua_rawseti(L, -2, ++i);
			} else {
				const uint8_t *ed = (const uint8_t *)v + 2;
				size_t esz = vn - 2;
				while (esz > 0) {
					const char *e;
					size_t en;
					fz_cut(&ed, &esz, ',', &e, &en);
					push_scalar(L, e, en, &qi->bad);
					lua_rawseti(L, -2, ++i);
				}
			}
			if (v[0] != 'l' || i == 0)
				qi->bad = 1;
		} else {
			push_scalar(L, v, vn, &qi->bad);
		}
		lua_rawset(L, t);
	}
	/* a later line may have replaced a bad value: recompute */
	qi->bad = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			qi->bad = 1;
		if (lua_istable(L, -1)) {
			lua_Integer i, len = (lua_Integer)lua_rawlen(L, -1);
			if (len == 0)
				qi->bad = 1;
			for (i = 1; i <= len; i++) {
				int ty = lua_rawgeti(L, -1, i);
				if (ty == LUA_TNUMBER && !lua_isinteger(L, -1)) {
					double dv = lua_tonumber(L, -1);
					if (isnan(dv) || isinf(dv))
						qi->bad = 1;
				} else if (ty != LUA_TNUMBER && ty != LUA_TSTRING &&
						ty != LUA_TBOOLEAN) {
					qi->bad = 1;
				}
				lua_pop(L, 1);
			}
		} else if (lua_type(L, -1) == LUA_TNUMBER &&
				!lua_isinteger(L, -1)) {
			double dv = lua_tonumber(L, -1);
			if (isnan(dv) || isinf(dv))
				qi->bad = 1;
		}
		lua_pop(L, 1);
	}
	if (qi->nkeys > 64)
		qi->bad = 1;
}

/* Does the decoded text match the scalar at -1? */
static int scalar_matches(lua_State *L, const char *s, size_t n)
{
	switch (lua_type(L, -1)) {
	case LUA_TSTRING: {
		size_t vn;
		const char *v = lua_tolstring(L, -1, &vn);
		return vn == n && memcmp(v, s, n) == 0;
	}
	case LUA_TBOOLEAN:
		return lua_toboolean(L, -1) ? (n == 4 && !memcmp(s, "true", 4))
			: (n == 5 && !memcmp(s, "false", 5));
	case LUA_TNUMBER: {
		char tmp[80];
		int ok;
		if (n >= sizeof tmp)
			return 0;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (lua_stringtonumber(L, tmp) == 0)
			return 0;
		ok = lua_compare(L, -1, -2, LUA_OPEQ);
		lua_pop(L, 1);
		return ok;
	}
	default:
		return 0;
	}
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);
	if (r)
		return r;
	return an < bn ? -1 : an > bn;
}

/* Walks the encoded query against the table at t. */
static void check_query_output(lua_State *L, int t, const sp_buf *q)
{
	const char *p = q->data ? q->data : "", *end = p + q->len;
	char prev[4200];
	size_t prevn = 0, i;
	int first = 1, items = 0, want_items = 0;

	for (i = 0; i < q->len; i++) {
		unsigned char c = (unsigned char)p[i];
		FZ_CHECK(unreserved(c) || c == '%' || c == '=' || c == '&',
			"query byte 0x%02x", c);
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		want_items += lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 1;
		lua_pop(L, 1);
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		char kdec[4200], vdec[4200];
		long kn, vn;
		int list = 0;
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		FZ_CHECK(eq != NULL, "query item without '='");
		FZ_CHECK((size_t)(eq - p) < sizeof kdec && (size_t)(amp - eq) <
			sizeof vdec, "item too long for the checker");
		kn = pct_decode(p, (size_t)(eq - p), kdec);
		vn = pct_decode(eq + 1, (size_t)(amp - eq - 1), vdec);
		FZ_CHECK(kn >= 0 && vn >= 0, "bad escape in the query");
		/* the key as in the table: a list repeats "key[]" */
		lua_pushlstring(L, kdec, (size_t)kn);
		lua_rawget(L, t);
		if (lua_isnil(L, -1) && kn >= 2 && kdec[kn - 2] == '[' &&
				kdec[kn - 1] == ']') {
			lua_pop(L, 1);
			lua_pushlstring(L, kdec, (size_t)kn - 2);
			lua_rawget(L, t);
			FZ_CHECK(lua_istable(L, -1), "'%.*s' is no list key",
				(int)kn, kdec);
			list = 1;
			kn -= 2;
		} else if (lua_istable(L, -1)) {
			FZ_FAIL("list key '%.*s' without []", (int)kn, kdec);
		}
		FZ_CHECK(!lua_isnil(L, -1), "key '%.*s' not in the table",
			(int)kn, kdec);
		if (!first)
			FZ_CHECK(key_cmp(prev, prevn, kdec, (size_t)kn) <= 0,
				"keys out of order");
		if (list) {
			lua_Integer j, len = (lua_Integer)lua_rawlen(L, -1);
			int found = 0;
			for (j = 1; j <= len && !found; j++) {
				lua_rawgeti(L, -1, j);
				found = scalar_matches(L, vdec, (size_t)vn);
				lua_pop(L, 1);
			}
			FZ_CHECK(found, "list value '%.*s' not in the list",
				(int)vn, vdec);
		} else {
			FZ_CHECK(scalar_matches(L, vdec, (size_t)vn),
				"value '%.*s' is not the table's", (int)vn, vdec);
		}
		lua_pop(L, 1);
		memcpy(prev, kdec, (size_t)kn);
		prevn = (size_t)kn;
		first = 0;
		items++;
		p = amp < end ? amp + 1 : end;
		if (amp < end)
			FZ_CHECK(p < end, "query ends with '&'");
	}
	FZ_CHECK(items == want_items, "%d query items for %d values", items,
		want_items);
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	const char *why;
	size_t i;

	(void)L;
	check_base_url(x);

	why = sp_check_path((const char *)x->d, x->n);
	FZ_CHECK((why == NULL) == ref_path_ok((const char *)x->d, x->n),
		"sp_check_path %s a path the reference %s (%s)",
		why ? "refuses" : "accepts", why ? "accepts" : "refuses",
		why ? why : "-");

	check_segment(x);

	why = sp_check_header_value((const char *)x->d, x->n);
	{
		int bad = 0;
		for (i = 0; i < x->n; i++)
			if ((x->d[i] < 0x20 && x->d[i] != '\t') || x->d[i] == 0x7f)
				bad = 1;
		FZ_CHECK((why != NULL) == bad, "sp_check_header_value: %s",
			why ? why : "accepted");
	}

	return 0;
}

/* Whether the table built from the input has no query form. */
static int query_is_bad(lua_State *L, void *ud)
{
	ctx *x = ud;
	qinfo qi;
	build_query(L, x, &qi);
	x->bad = qi.bad;
	return 0;
}

/* sp_encode_query under its own pcall (it raises by design). */
static int encode_query_body(lua_State *L, void *ud)
{
	ctx *x = ud;
	qinfo qi;
	int t;
	build_query(L, x, &qi);
	t = lua_gettop(L);
	sp_buf_clear(&x->q);
	sp_encode_query(L, t, &x->q, "query");
	FZ_CHECK(lua_gettop(L) == t, "sp_encode_query moved the stack");
	FZ_CHECK(!qi.bad, "encoded a table that has no query form");
	check_query_output(L, t, &x->q);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx x;
	int st;
	unsigned long c2 = 0;

	memset(&x, 0, sizeof x);
	x.d = d;
	x.n = n;
	st = fz_pcall(L, body, &x, mode, at, count);
	fz_expect_status(st, mode, "url checks");

	st = fz_pcall(L, encode_query_body, &x, mode, at, &c2);
	if (count)
		*count += c2;
	if (st != LUA_OK && !(st == LUA_ERRMEM && mode != FZ_ALLOC_COUNT)) {
		/* a refusal: only for a table that has no query form */
		FZ_CHECK(strstr(fz_errmsg, "query") != NULL && st == LUA_ERRRUN,
			"sp_encode_query raised: %s", fz_errmsg);
		if (mode == FZ_ALLOC_COUNT) {
			char why[sizeof fz_errmsg];
			memcpy(why, fz_errmsg, sizeof why);
			x.bad = -1;
			st = fz_pcall(L, query_is_bad, &x, FZ_ALLOC_PLAIN, 0, NULL);
			FZ_CHECK(st == LUA_OK && x.bad == 1, "sp_encode_query "
				"refused a valid table: %s", why);
		}
	}
	fz_buf_release(&x.c.host);
	fz_buf_release(&x.c.base_path);
	fz_buf_release(&x.c.origin);
	sp_buf_free(&x.seg);
	sp_buf_free(&x.q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
