/*
 * wire.c - HTTP/1.1 bytes: request heads for transports that do their own
 * socket I/O (nginx cosockets), response-head and header-line parsing
 * (shared with the libcurl header callback), Retry-After.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sendpulse.h"

/* "Name: value" -> trimmed name and value. 0 when the line is not one. */
int sp_header_split(const char *line, size_t n, const char **name,
	size_t *nlen, const char **value, size_t *vlen)
{
	const char *colon = memchr(line, ':', n), *v, *e = line + n;
	size_t i;

	if (colon == NULL || colon == line)
		return 0;
	for (i = 0; line + i < colon; i++) {
		unsigned char c = (unsigned char)line[i];
		/* token characters only: no spaces, controls or separators */
		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;\\\"/[]?={}", c))
			return 0;
	}
	v = colon + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
			e[-1] == '\t'))
		e--;
	*name = line;
	*nlen = (size_t)(colon - line);
	*value = v;
	*vlen = (size_t)(e - v);
	return 1;
}

static int month_index(const char *m)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;
	for (i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, m, 3) == 0)
			return i;
	return -1;
}

/* Days since the epoch for a proleptic Gregorian date (no timegm needed). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The three date forms of RFC 9110: IMF-fixdate ("Sun, 06 Nov 1994
 * 08:49:37 GMT"), the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37
 * GMT") and asctime's ("Sun Nov  6 08:49:37 1994"). Two-digit years are
 * read as the nearest such year to now (RFC 9110 says: more than 50
 * years ahead means the past century). */
static int parse_http_date(const char *tmp, double now, double *at)
{
	char mon[4], wday[16];
	int day, year, hh, mm, ss, m;

	if (sscanf(tmp, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wday, &day, mon,
			&year, &hh, &mm, &ss) == 7 && strlen(wday) == 3) {
		/* IMF-fixdate */
	} else if (sscanf(tmp, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT", wday,
			&day, mon, &year, &hh, &mm, &ss) == 7) {
		int this_year = 1970 + (int)(now / 31556952.0);
		year += this_year - this_year % 100;
		if (year > this_year + 50)
			year -= 100;
	} else if (sscanf(tmp, "%3s %3s %2d %2d:%2d:%2d %4d", wday, mon, &day,
			&hh, &mm, &ss, &year) == 7) {
		/* asctime */
	} else {
		return 0;
	}
	m = month_index(mon);
	if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 ||
			year < 0 || year > 9999)
		return 0;
	*at = (double)days_from_civil(year, m + 1, day) * 86400.0 +
		hh * 3600.0 + mm * 60.0 + ss;
	return 1;
}

/*
 * Retry-After is either delta-seconds or an HTTP-date. Returns seconds to
 * wait from now (never negative), or -1 when the value is neither.
 */
double sp_parse_retry_after(const char *v, size_t n, double now)
{
	char tmp[64];
	size_t i;
	double at;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof tmp)
		return -1;
	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		;
	if (i == n) {
		double secs = 0;
		for (i = 0; i < n; i++)
			secs = secs * 10 + (v[i] - '0');
		return secs;
	}
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (!parse_http_date(tmp, now, &at))
		return -1;
	return at > now ? at - now : 0;
}

/* Builds the raw request of the attempt in flight (k->req) into k->wire.
 * 0 with err set when it cannot (out of memory, an unreadable file). */
int sp_wire_request(sp_call *k, char *err, size_t errlen)
{
	sp_client *c = k->client;
	const sp_request *r = &k->req;
	sp_buf *w = &k->wire;
	int ok = 1;

	sp_buf_clear(w);
	ok &= sp_buf_printf(w, "%s ", sp_method_names[r->method]);
	ok &= sp_buf_add(w, r->target, r->target_len);
	ok &= sp_buf_printf(w, " HTTP/1.1\r\nHost: %s", c->host.data);
	if (c->port != (c->tls ? 443 : 80))
		ok &= sp_buf_printf(w, ":%d", c->port);
	ok &= sp_buf_adds(w, "\r\nUser-Agent: ");
	ok &= sp_buf_add(w, c->user_agent.data, c->user_agent.len);
	ok &= sp_buf_adds(w, r->accept_any ? "\r\nAccept: */*\r\n"
		: "\r\nAccept: application/json\r\n");
	if (r->auth) {
		ok &= sp_buf_add(w, c->auth_header.data, c->auth_header.len);
		ok &= sp_buf_adds(w, "\r\n");
	}
	switch (r->body_kind) {
	case SP_BODY_JSON:
		ok &= sp_buf_printf(w, "Content-Type: application/json\r\n"
			"Content-Length: %lu\r\n\r\n", (unsigned long)r->body_len);
		ok &= sp_buf_add(w, r->body, r->body_len);
		break;
	case SP_BODY_MULTIPART: {
		long long len = sp_mime_length(r->mime);
		ok &= len >= 0 && sp_buf_printf(w, "Content-Type: multipart/"
			"form-data; boundary=%s\r\nContent-Length: %lld\r\n\r\n",
			r->mime->boundary, len);
		if (ok && !sp_mime_encode(r->mime, w, err, errlen))
			return 0;
		break;
	}
	default:
		if (r->method == SP_POST || r->method == SP_PUT ||
				r->method == SP_PATCH)
			ok &= sp_buf_adds(w, "Content-Length: 0\r\n\r\n");
		else
			ok &= sp_buf_adds(w, "\r\n");
	}
	if (!ok)
		snprintf(err, errlen, "out of memory");
	return ok;
}

/*
 * Parses a response head ("HTTP/1.1 200 OK\r\nName: v\r\n...") and pushes
 * the status and a table of headers with lower-case names (repeated
 * headers joined by ", "). On malformed input pushes nil and a message.
 */
int sp_parse_head(lua_State *L, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *eol;
	int status = 0, i;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1')
			|| s[8] != ' ')
		goto bad;
	for (i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		status = status * 10 + (s[i] - '0');
	}
	if (status < 100 || (n > 12 && s[12] != ' ' && s[12] != '\r'))
		goto bad;
	eol = memchr(p, '\n', n);
	if (eol == NULL)
		goto bad;
	lua_pushinteger(L, status);
	lua_createtable(L, 0, 8);
	p = eol + 1;
	while (p < end) {
		const char *name, *value;
		size_t nlen, vlen, j;
		char lname[128];

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;	/* the blank line ending the head */
		if (*p == ' ' || *p == '\t' ||
				!sp_header_split(p, (size_t)(eol - p), &name, &nlen,
					&value, &vlen) || nlen >= sizeof lname) {
			lua_pop(L, 2);
			goto bad;
		}
		for (j = 0; j < nlen; j++)
			lname[j] = (char)tolower((unsigned char)name[j]);
		lua_pushlstring(L, lname, nlen);
		lua_pushvalue(L, -1);
		lua_rawget(L, -3);
		if (lua_isstring(L, -1)) {
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, value, vlen);
			lua_concat(L, 3);
		} else {
			lua_pop(L, 1);
			lua_pushlstring(L, value, vlen);
		}
		lua_rawset(L, -3);
		p = eol + 1;
	}
	return 2;
bad:
	lua_pushnil(L);
	lua_pushliteral(L, "malformed HTTP response head");
	return 2;
}

/* ---- Lua functions ---------------------------------------------------- */

/***
 * Parses an HTTP/1.x response head.
 * @function parse_head
 * @tparam string head
 * @return status and a table of lower-cased headers, or nil and a message
 */
static int core_parse_head(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	return sp_parse_head(L, s, n);
}

/***
 * Seconds to wait from a Retry-After value.
 * @function retry_after
 * @tparam string value
 * @treturn number|nil
 */
static int core_retry_after(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	double v = sp_parse_retry_after(s, n, sp_walltime());
	if (v < 0)
		lua_pushnil(L);
	else
		lua_pushnumber(L, v);
	return 1;
}

const luaL_Reg sp_wire_funcs[] = {
	{ "parse_head", core_parse_head },
	{ "retry_after", core_retry_after },
	{ NULL, NULL }
};
