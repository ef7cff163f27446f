/*
 * wire.c - HTTP/1.1 bytes: request heads for transports that do their own
 * socket I/O (nginx cosockets), response-head and header-line parsing
 * (shared with the libcurl header callback), Retry-After.
 */
#include <ctype.h>
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

/*
 * Retry-After is either delta-seconds or an HTTP-date
 * ("Sun, 06 Nov 1994 08:49:37 GMT"). Returns seconds to wait from now
 * (never negative), or -1 when the value is neither.
 */
double sp_parse_retry_after(const char *v, size_t n, double now)
{
	char tmp[64], mon[4];
	int day, year, hh, mm, ss, m;
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
	if (sscanf(tmp, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &day, mon, &year,
			&hh, &mm, &ss) != 6)
		return -1;
	m = month_index(mon);
	if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	at = (double)days_from_civil(year, m + 1, day) * 86400.0 +
		hh * 3600.0 + mm * 60.0 + ss;
	return at > now ? at - now : 0;
}

/* Builds the raw request for the call's current request into k->wire. */
int sp_wire_request(sp_call *k)
{
	sp_client *c = k->client;
	sp_buf *w = &k->wire;
	const sp_buf *body = k->req_is_token ? &c->token_body : &k->body;
	int has_body = k->req_is_token || k->has_body;
	int method = k->req_is_token ? SP_POST : k->method;
	int ok = 1;

	sp_buf_clear(w);
	ok &= sp_buf_printf(w, "%s %s HTTP/1.1\r\nHost: %s",
		sp_method_names[method],
		k->req_is_token ? c->token_target.data : k->target.data,
		c->host.data);
	if (c->port != (c->tls ? 443 : 80))
		ok &= sp_buf_printf(w, ":%d", c->port);
	ok &= sp_buf_adds(w, "\r\nUser-Agent: ");
	ok &= sp_buf_add(w, c->user_agent.data, c->user_agent.len);
	ok &= sp_buf_adds(w, "\r\nAccept: application/json\r\n");
	if (!k->req_is_token) {
		ok &= sp_buf_add(w, c->auth_header.data, c->auth_header.len);
		ok &= sp_buf_adds(w, "\r\n");
	}
	if (has_body)
		ok &= sp_buf_printf(w, "Content-Type: application/json\r\n"
			"Content-Length: %lu\r\n\r\n", (unsigned long)body->len);
	else if (method == SP_POST || method == SP_PUT || method == SP_PATCH)
		ok &= sp_buf_adds(w, "Content-Length: 0\r\n\r\n");
	else
		ok &= sp_buf_adds(w, "\r\n");
	if (has_body)
		ok &= sp_buf_add(w, body->data, body->len);
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
