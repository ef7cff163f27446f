/*
 * url.c - everything that turns user input into URL bytes.
 *
 * The rule: nothing malformed reaches the wire. Paths given to the generic
 * verbs are checked, not rewritten (a path is the caller's statement of
 * intent; silently "fixing" it would send a request nobody asked for).
 * Values that go inside a path or a query are percent-encoded here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

static const char hexdigits[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		c == '~';
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		(c >= 'A' && c <= 'F');
}

static int pct_encode(sp_buf *b, const char *s, size_t n)
{
	size_t i;
	if (!sp_buf_reserve(b, n * 3))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c)) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = hexdigits[c >> 4];
			b->data[b->len++] = hexdigits[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return 1;
}

/*
 * One path segment: everything outside the unreserved set is encoded, so
 * "/", "?", "#", "@" and "+" cannot change the URL's shape.
 */
int sp_escape_segment(sp_buf *b, const char *s, size_t n)
{
	return pct_encode(b, s, n);
}

/* "." and "..": no encoding stops a server from resolving them (%2E is
 * the same character), so they cannot be path segments at all. */
int sp_is_dot_segment(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

static int is_pchar(unsigned char c)
{
	return is_unreserved(c) || c == '!' || c == '$' || c == '&' ||
		c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
		c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

/* Does this segment decode to "." or ".."? */
static int dot_segment(const char *s, size_t n)
{
	size_t i = 0, dots = 0;
	while (i < n) {
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '%' && i + 2 < n && s[i + 1] == '2' &&
				(s[i + 2] == 'e' || s[i + 2] == 'E')) {
			i += 3;
		} else {
			return 0;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

/* NULL when p is an acceptable absolute path, else the reason. */
const char *sp_check_path(const char *p, size_t n)
{
	size_t i, seg;

	if (n == 0 || p[0] != '/')
		return "must start with '/'";
	if (n > 8192)
		return "is too long";
	seg = 1;
	for (i = 1; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)p[i] : '/';
		if (c == '/') {
			if (i == seg && i < n)
				return "contains an empty segment ('//')";
			if (dot_segment(p + seg, i - seg))
				return "contains a '.' or '..' segment";
			seg = i + 1;
			continue;
		}
		if (c == '%') {
			if (i + 2 >= n || !is_hex((unsigned char)p[i + 1]) ||
					!is_hex((unsigned char)p[i + 2]))
				return "contains a '%' that is not a percent-escape";
			i += 2;
			continue;
		}
		if (c == '?' || c == '#')
			return "contains '?' or '#' (pass query parameters as a "
				"table; escape values with sendpulse.path)";
		if (!is_pchar(c))
			return "contains a character that must be percent-encoded "
				"(build paths with sendpulse.path)";
	}
	return NULL;
}

const char *sp_check_header_value(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			return "contains CR or LF";
		if (c == 0)
			return "contains a NUL byte";
		if (c < 0x20 && c != '\t')
			return "contains a control character";
		if (c == 0x7f)
			return "contains a control character";
	}
	return NULL;
}

static int is_loopback(const char *h, size_t n)
{
	return (n == 9 && memcmp(h, "localhost", 9) == 0) ||
		(n >= 4 && memcmp(h, "127.", 4) == 0) ||
		(n == 5 && memcmp(h, "[::1]", 5) == 0);
}

/*
 * Splits base_url into the client's endpoint fields. Returns NULL or the
 * reason it was refused. Plain http is accepted only for loopback hosts:
 * credentials must never cross a network in clear text.
 */
const char *sp_parse_base_url(sp_client *c, const char *url, size_t len)
{
	const char *p = url, *end = url + len, *h, *he, *path;
	int port = 0;
	size_t i;

	if (sp_check_header_value(url, len))
		return "contains control characters";
	if (len >= 8 && memcmp(p, "https://", 8) == 0) {
		c->tls = 1;
		p += 8;
	} else if (len >= 7 && memcmp(p, "http://", 7) == 0) {
		c->tls = 0;
		p += 7;
	} else {
		return "must start with https://";
	}
	h = p;
	if (p < end && *p == '[') {
		/* an IPv6 literal: hex digits, colons and dots, nothing else
		 * (it becomes the Host header) */
		p++;
		while (p < end && (is_hex((unsigned char)*p) || *p == ':' ||
				*p == '.'))
			p++;
		if (p >= end || *p != ']' || p == h + 1)
			return "has an invalid IPv6 address";
		p++;
	} else {
		while (p < end && *p != ':' && *p != '/') {
			unsigned char ch = (unsigned char)*p;
			if (!(is_unreserved(ch) && ch != '~' && ch != '_'))
				return "has an invalid host name";
			p++;
		}
	}
	he = p;
	if (he == h)
		return "has no host";
	if (p < end && *p == ':') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return "has an invalid port";
		while (p < end && *p >= '0' && *p <= '9') {
			port = port * 10 + (*p - '0');
			if (port > 65535)
				return "has an invalid port";
			p++;
		}
		if (port == 0)
			return "has an invalid port";
	}
	if (p < end && *p != '/')
		return "has an invalid host or port";
	path = p;
	for (i = 0; path + i < end; i++) {
		if (path[i] == '?' || path[i] == '#' || path[i] == '@')
			return "must not contain a query, fragment or user info";
	}
	/* Drop trailing slashes so joining never makes "//". */
	while (end > path && end[-1] == '/')
		end--;
	if (end > path && sp_check_path(path, (size_t)(end - path)))
		return "has an invalid path";
	if (!c->tls && !is_loopback(h, (size_t)(he - h)))
		return "must use https (http is accepted only for loopback "
			"addresses)";
	if (port == 0)
		port = c->tls ? 443 : 80;

	c->port = port;
	if (!sp_buf_set(&c->host, h, (size_t)(he - h)) ||
			!sp_buf_set(&c->base_path, path, (size_t)(end - path)))
		return "out of memory";
	sp_buf_clear(&c->origin);
	if (!sp_buf_printf(&c->origin, "%s://%s:%d", c->tls ? "https" : "http",
			c->host.data, port))
		return "out of memory";
	return NULL;
}

/* ---- query strings ----------------------------------------------------- */

typedef struct qkey {
	const char *s;
	size_t n;
} qkey;

static int qkey_cmp(const void *a, const void *b)
{
	const qkey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int r = memcmp(x->s, y->s, n);
	if (r)
		return r;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void put_scalar(lua_State *L, int idx, sp_buf *b, const char *argname,
	const char *key)
{
	size_t n;
	const char *s;
	char num[64];

	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		break;
	case LUA_TNUMBER:
		if (sp_isinteger(L, idx)) {
#if SP_HAVE_INTEGERS
			snprintf(num, sizeof num, "%lld",
				(long long)lua_tointeger(L, idx));
#endif
		} else {
			double v = (double)lua_tonumber(L, idx);
			if (v != v || v - v != 0)
				luaL_error(L, "sendpulse: bad argument '%s.%s' (NaN "
					"and infinity have no query form)", argname, key);
			if (v > -9.2e18 && v < 9.2e18 && v == floor(v))
				snprintf(num, sizeof num, "%lld", (long long)v);
			else
				sp_format_double(num, sizeof num, v);
		}
		s = num;
		n = strlen(num);
		break;
	case LUA_TBOOLEAN:
		s = lua_toboolean(L, idx) ? "true" : "false";
		n = strlen(s);
		break;
	default:
		luaL_error(L, "sendpulse: bad argument '%s.%s' (a string, number "
			"or boolean expected, got %s)", argname, key,
			luaL_typename(L, idx));
		return;
	}
	if (!pct_encode(b, s, n))
		luaL_error(L, "out of memory");
}

/*
 * Encodes the table at idx as "k=v&k2=v2" with keys sorted (stable URLs
 * make logs and caches predictable). A list value repeats the key as
 * "k[]=v", the form SendPulse's PHP back end reads as an array.
 * Raises, naming argname, on values that have no query form.
 */
void sp_encode_query(lua_State *L, int idx, sp_buf *b, const char *argname)
{
	qkey keys[64];
	size_t nkeys = 0, i;
	int first = 1;

	idx = sp_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "sendpulse: bad argument '%s' (keys must be "
				"strings)", argname);
		if (nkeys == sizeof keys / sizeof keys[0])
			luaL_error(L, "sendpulse: bad argument '%s' (more than 64 "
				"parameters)", argname);
		keys[nkeys].s = lua_tolstring(L, -1, &keys[nkeys].n);
		nkeys++;
	}
	qsort(keys, nkeys, sizeof keys[0], qkey_cmp);
	for (i = 0; i < nkeys; i++) {
		lua_pushlstring(L, keys[i].s, keys[i].n);
		lua_rawget(L, idx);
		if (lua_type(L, -1) == LUA_TTABLE) {
			size_t j, len = sp_rawlen(L, -1);
			if (len == 0)
				luaL_error(L, "sendpulse: bad argument '%s.%s' (a value "
					"or a non-empty list expected)", argname,
					keys[i].s);
			for (j = 1; j <= len; j++) {
				lua_rawgeti(L, -1, (int)j);
				if ((!first && !sp_buf_addc(b, '&')) ||
						!pct_encode(b, keys[i].s, keys[i].n) ||
						!sp_buf_adds(b, "%5B%5D="))
					luaL_error(L, "out of memory");
				put_scalar(L, -1, b, argname, keys[i].s);
				lua_pop(L, 1);
				first = 0;
			}
		} else {
			if ((!first && !sp_buf_addc(b, '&')) ||
					!pct_encode(b, keys[i].s, keys[i].n) ||
					!sp_buf_addc(b, '='))
				luaL_error(L, "out of memory");
			put_scalar(L, -1, b, argname, keys[i].s);
			first = 0;
		}
		lua_pop(L, 1);
	}
}

/* ---- Lua functions ---------------------------------------------------- */

/***
 * Percent-encodes one path segment.
 * @function escape_segment
 * @tparam string|number s
 * @treturn string
 */
static int core_escape_segment(lua_State *L)
{
	size_t n;
	const char *s;
	sp_buf *b;
	int t = lua_type(L, 1);
	if (t != LUA_TSTRING && t != LUA_TNUMBER)
		return luaL_error(L, "sendpulse: a path segment must be a string "
			"or a number (got %s)", luaL_typename(L, 1));
	if (t == LUA_TNUMBER && !sp_isinteger(L, 1)) {
		lua_Number v = lua_tonumber(L, 1);
		if (v != floor(v) || fabs(v) > 9007199254740992.0)
			return luaL_error(L, "sendpulse: a numeric path segment must "
				"be an integer");
		{
			/* 5.1 numbers are floats: 7.0 is the segment "7" */
			char num[32];
			snprintf(num, sizeof num, "%.0f", (double)v);
			lua_pushstring(L, num);
			lua_replace(L, 1);
		}
	}
	s = lua_tolstring(L, 1, &n);
	if (n == 0)
		return luaL_error(L, "sendpulse: a path segment must not be empty");
	if (sp_is_dot_segment(s, n))
		return luaL_error(L, "sendpulse: a path segment cannot be '.' or "
			"'..' (a server would resolve it, encoded or not)");
	b = sp_push_scratch(L);
	if (!sp_escape_segment(b, s, n))
		return luaL_error(L, "out of memory");
	lua_pushlstring(L, b->data, b->len);
	return 1;
}

/***
 * Encodes a table as a query string (keys sorted).
 * @function encode_query
 * @tparam table t
 * @treturn string
 */
static int core_encode_query(lua_State *L)
{
	sp_buf *b;
	luaL_checktype(L, 1, LUA_TTABLE);
	b = sp_push_scratch(L);
	sp_encode_query(L, 1, b, "query");
	lua_pushlstring(L, b->data ? b->data : "", b->len);
	return 1;
}

/***
 * Checks a path for the generic verbs.
 * @function check_path
 * @tparam string path
 * @return true, or nil and the reason
 */
static int core_check_path(lua_State *L)
{
	size_t n;
	const char *p = luaL_checklstring(L, 1, &n), *why = sp_check_path(p, n);
	if (why == NULL) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, why);
	return 2;
}

const luaL_Reg sp_url_funcs[] = {
	{ "escape_segment", core_escape_segment },
	{ "encode_query", core_encode_query },
	{ "check_path", core_check_path },
	{ NULL, NULL }
};
