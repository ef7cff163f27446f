/*
 * fuzz_head: the response-side HTTP parsing of wire.c -- sp_parse_head
 * (status line and headers, for Lua transports), sp_header_split (also
 * behind libcurl's header callback) and sp_parse_retry_after.
 *
 * Checks:
 *   - sp_parse_head always pushes two values: an integer status 100..999
 *     and a table, or nil and a message; the status is the three digits of
 *     the status line; every header name is a lower-case token shorter than
 *     128 bytes, and every header line of the head is found in the table;
 *   - sp_header_split returns a name made of token characters ending at
 *     the first colon and a value inside the line, trimmed of blanks and
 *     CR/LF at both ends;
 *   - sp_parse_retry_after returns -1 or a finite number >= 0; for
 *     delta-seconds the number itself; for a well-formed IMF-fixdate or
 *     asctime date the seconds between `now` and that date (0 when past),
 *     checked against timegm().
 */
#include "fuzz_common.h"

#include <math.h>
#include <time.h>

typedef struct {
	const uint8_t *d;
	size_t n;
} ctx;

static int is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;\\\"/[]?={}:", c);
}

static void check_split(const char *line, size_t n)
{
	const char *name, *value;
	size_t nlen, vlen, i;
	const char *colon = memchr(line, ':', n);

	if (!sp_header_split(line, n, &name, &nlen, &value, &vlen)) {
		/* refused: there must be a reason */
		if (colon && colon > line) {
			for (i = 0; line + i < colon; i++)
				if (!is_tchar((unsigned char)line[i]))
					return;
			FZ_FAIL("sp_header_split refused a valid header line");
		}
		return;
	}
	FZ_CHECK(colon != NULL && name == line && nlen == (size_t)(colon - line)
		&& nlen > 0, "header name not the text before the first colon");
	for (i = 0; i < nlen; i++)
		FZ_CHECK(is_tchar((unsigned char)name[i]), "header name with "
			"byte 0x%02x", (unsigned char)name[i]);
	FZ_CHECK(value >= colon + 1 && value + vlen <= line + n,
		"header value outside the line");
	if (vlen) {
		FZ_CHECK(value[0] != ' ' && value[0] != '\t', "value not "
			"trimmed at the start");
		FZ_CHECK(!strchr(" \t\r\n", value[vlen - 1]) ||
			value[vlen - 1] == '\0', "value not trimmed at the end");
	}
	/* nothing but blanks was dropped */
	for (i = (size_t)(colon + 1 - line); line + i < value; i++)
		FZ_CHECK(line[i] == ' ' || line[i] == '\t', "non-blank skipped");
	for (i = (size_t)(value + vlen - line); i < n; i++)
		FZ_CHECK(strchr(" \t\r\n", line[i]) && line[i] != '\0',
			"non-blank trimmed");
}

/* A strict IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int imf_fixdate(const char *s, size_t n, struct tm *tm)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i, ok = 0;
	char buf[30];

	if (n != 29)
		return 0;
	memcpy(buf, s, 29);
	buf[29] = '\0';
	for (i = 0; i < 7; i++)
		if (memcmp(buf, days[i], 3) == 0)
			ok = 1;
	if (!ok || memcmp(buf + 3, ", ", 2) != 0 || buf[7] != ' ' ||
			buf[11] != ' ' || buf[16] != ' ' || buf[19] != ':' ||
			buf[22] != ':' || memcmp(buf + 25, " GMT", 4) != 0)
		return 0;
	for (i = 0; i < 29; i++) {
		if (i == 5 || i == 6 || i == 12 || i == 13 || i == 14 || i == 15 ||
				i == 17 || i == 18 || i == 20 || i == 21 ||
				i == 23 || i == 24) {
			if (buf[i] < '0' || buf[i] > '9')
				return 0;
		}
	}
	memset(tm, 0, sizeof *tm);
	tm->tm_mday = (buf[5] - '0') * 10 + buf[6] - '0';
	tm->tm_mon = -1;
	for (i = 0; i < 12; i++)
		if (memcmp(buf + 8, months + 3 * i, 3) == 0)
			tm->tm_mon = i;
	tm->tm_year = atoi(buf + 12) - 1900;
	tm->tm_hour = (buf[17] - '0') * 10 + buf[18] - '0';
	tm->tm_min = (buf[20] - '0') * 10 + buf[21] - '0';
	tm->tm_sec = (buf[23] - '0') * 10 + buf[24] - '0';
	return tm->tm_mon >= 0 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
		tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 59;
}

/* "Sun Nov  6 08:49:37 1994" (asctime: the day of the month padded with a
 * space), read by hand. */
static int asctime_date(const char *s, size_t n, struct tm *tm)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const int digits[] = { 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23 };
	int i, ok = 0;
	char b[25];

	if (n != 24)
		return 0;
	memcpy(b, s, 24);
	b[24] = '\0';
	for (i = 0; i < 7; i++)
		if (memcmp(b, days[i], 3) == 0)
			ok = 1;
	if (!ok || b[3] != ' ' || b[7] != ' ' || b[10] != ' ' || b[13] != ':' ||
			b[16] != ':' || b[19] != ' ')
		return 0;
	if (b[8] == ' ')
		b[8] = '0';
	for (i = 0; i < (int)(sizeof digits / sizeof digits[0]); i++)
		if (b[digits[i] - 1] < '0' || b[digits[i] - 1] > '9')
			return 0;
	memset(tm, 0, sizeof *tm);
	tm->tm_mday = (b[8] - '0') * 10 + b[9] - '0';
	tm->tm_mon = -1;
	for (i = 0; i < 12; i++)
		if (memcmp(b + 4, months + 3 * i, 3) == 0)
			tm->tm_mon = i;
	tm->tm_hour = (b[11] - '0') * 10 + b[12] - '0';
	tm->tm_min = (b[14] - '0') * 10 + b[15] - '0';
	tm->tm_sec = (b[17] - '0') * 10 + b[18] - '0';
	tm->tm_year = atoi(b + 20) - 1900;
	return tm->tm_mon >= 0 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
		tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 59;
}

static void check_retry_after(const char *v, size_t n)
{
	static const double nows[] = { 0, 1700000000.0, 4102444800.0 };
	size_t i, a = 0, b = n;
	int k;

	while (a < b && (v[a] == ' ' || v[a] == '\t'))
		a++;
	while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
		b--;
	for (k = 0; k < 3; k++) {
		double r = sp_parse_retry_after(v, n, nows[k]);
		struct tm tm;
		FZ_CHECK(r == -1 || (r >= 0 && isfinite(r)), "Retry-After gave "
			"%g", r);
		if (a == b || b - a >= 64) {
			FZ_CHECK(r == -1, "empty or overlong Retry-After gave %g",
				r);
			continue;
		}
		for (i = a; i < b && v[i] >= '0' && v[i] <= '9'; i++)
			;
		if (i == b) {
			char tmp[80];
			double want;
			memcpy(tmp, v + a, b - a);
			tmp[b - a] = '\0';
			want = strtod(tmp, NULL);
			FZ_CHECK(fabs(r - want) <= want * 1e-12, "delta-seconds "
				"%s gave %.17g", tmp, r);
		} else if (imf_fixdate(v + a, b - a, &tm) ||
				asctime_date(v + a, b - a, &tm)) {
			double at = (double)timegm(&tm);
			double want = at > nows[k] ? at - nows[k] : 0;
			FZ_CHECK(r == want, "HTTP-date gave %.17g, want %.17g", r,
				want);
		}
	}
}

static int body(lua_State *L, void *ud)
{
	ctx *c = ud;
	const char *s = (const char *)c->d, *p, *end = s + c->n, *eol;
	int top = lua_gettop(L), r;

	r = sp_parse_head(L, s, c->n);
	FZ_CHECK(r == 2 && lua_gettop(L) == top + 2, "sp_parse_head returned "
		"%d and moved the stack by %d", r, lua_gettop(L) - top);
	if (lua_isnil(L, -2)) {
		FZ_CHECK(lua_type(L, -1) == LUA_TSTRING, "no message");
	} else {
		lua_Integer status;
		int t = lua_absindex(L, -1);
		FZ_CHECK(lua_isinteger(L, -2), "status not an integer");
		status = lua_tointeger(L, -2);
		FZ_CHECK(status >= 100 && status <= 999, "status %lld",
			(long long)status);
		FZ_CHECK(c->n >= 12 && status == (s[9] - '0') * 100 +
			(s[10] - '0') * 10 + (s[11] - '0'), "status %lld is not "
			"the status line's", (long long)status);
		FZ_CHECK(lua_istable(L, t), "headers not a table");
		lua_pushnil(L);
		while (lua_next(L, t)) {
			size_t kn, i;
			const char *k = lua_tolstring(L, -2, &kn);
			FZ_CHECK(lua_type(L, -2) == LUA_TSTRING &&
				lua_type(L, -1) == LUA_TSTRING, "header entry types");
			FZ_CHECK(kn > 0 && kn < 128, "header name length %lu",
				(unsigned long)kn);
			for (i = 0; i < kn; i++)
				FZ_CHECK(is_tchar((unsigned char)k[i]) &&
					!(k[i] >= 'A' && k[i] <= 'Z'),
					"header name byte 0x%02x",
					(unsigned char)k[i]);
			lua_pop(L, 1);
		}
		/* every header line is in the table */
		p = memchr(s, '\n', c->n) + 1;
		while (p < end) {
			const char *name, *value;
			size_t nlen, vlen, j, hn;
			char lname[128];
			const char *have;
			eol = memchr(p, '\n', (size_t)(end - p));
			if (eol == NULL)
				eol = end;
			if (eol == p || (eol == p + 1 && *p == '\r'))
				break;
			FZ_CHECK(sp_header_split(p, (size_t)(eol - p), &name,
				&nlen, &value, &vlen), "accepted head with a bad "
				"header line");
			for (j = 0; j < nlen; j++)
				lname[j] = (char)(name[j] >= 'A' && name[j] <= 'Z'
					? name[j] + 32 : name[j]);
			lua_pushlstring(L, lname, nlen);
			lua_rawget(L, t);
			have = lua_tolstring(L, -1, &hn);
			FZ_CHECK(have && fz_contains(have, hn, value, vlen),
				"header line missing from the table");
			lua_pop(L, 1);
			p = eol + 1;
		}
		lua_getfield(L, t, "retry-after");
		if (lua_type(L, -1) == LUA_TSTRING) {
			size_t vn;
			const char *v = lua_tolstring(L, -1, &vn);
			check_retry_after(v, vn);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, top);

	/* every line on its own */
	for (p = s; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		check_split(p, (size_t)(eol - p));
		check_retry_after(p, (size_t)(eol - p));
	}
	check_retry_after(s, c->n);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx c;
	int st;
	c.d = d;
	c.n = n;
	st = fz_pcall(L, body, &c, mode, at, count);
	fz_expect_status(st, mode, "sp_parse_head");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
