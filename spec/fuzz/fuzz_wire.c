/*
 * fuzz_wire: sp_wire_request (wire.c), the raw HTTP/1.1 request that Lua
 * transports (nginx cosockets) put on the socket, built from a client and
 * a call assembled the way core.c and call.c assemble them, from input
 * that went through the same checks first (sp_parse_base_url,
 * sp_check_header_value, sp_token_acceptable, sp_token_init,
 * sp_request_fill,
 * sp_check_path, sp_encode_query).
 *
 * Input, one field per line:
 *   base_url
 *   flags: [GPUAD] method, 'T' the token request, 'K' API-key client
 *          (else OAuth), 'B' a body
 *   credentials: the API key, or "client_id:client_secret:access_token"
 *   user agent (empty: the default)
 *   path
 *   query: "k=v&k2=v2" (raw strings, encoded by sp_encode_query)
 *   the rest: the JSON body bytes
 *
 * Checks, on what goes on the wire: a request line "METHOD target
 * HTTP/1.1" whose target is the base path + path [+ ? query] with no
 * byte outside 0x21..0x7e; header lines "Name: value" with token names
 * and values free of CR, LF, NUL and other controls; exactly one Host,
 * naming the endpoint (host[:port]) and a syntactically valid host
 * [id url_ipv6_literal]; User-Agent and Accept; Authorization on API
 * requests only, equal to the client's header; Content-Length equal to
 * the body that follows, which is the call's body, or for the token
 * request a JSON object whose grant_type, client_id and client_secret are
 * the credentials given.
 */
#include "fuzz_common.h"

typedef struct {
	const uint8_t *d;
	size_t n;
	sp_client c;
	sp_call k;
} ctx;

static int tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;\\\"/[]?={}:", c);
}

static int hexdig(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		(c >= 'A' && c <= 'F');
}

static int valid_host(const char *h, size_t n)
{
	size_t i;
	if (n == 0)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (i = 1; i + 1 < n; i++)
			if (!hexdig((unsigned char)h[i]) && h[i] != ':' &&
					h[i] != '.')
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* Wire checks. */
static void check_wire(lua_State *L, ctx *x, const char *id, size_t idn,
	const char *secret, size_t sn)
{
	sp_client *c = &x->c;
	sp_call *k = &x->k;
	const char *w = k->wire.data, *end = w + k->wire.len, *p, *eol, *sp1,
		*sp2, *hdr_end;
	int method = k->req_is_token ? SP_POST : k->method;
	const sp_buf *target = k->req_is_token ? &c->token_target : &k->target;
	const sp_buf *body = k->req_is_token ? &c->token_body : &k->body;
	int has_body = k->req_is_token || k->has_body;
	int hosts = 0, uas = 0, accepts = 0, auths = 0, cls = 0, cts = 0;
	long clen = -1;
	char *hostwant;

	FZ_CHECK(w != NULL, "no wire");
	hdr_end = memmem(w, k->wire.len, "\r\n\r\n", 4);
	FZ_CHECK(hdr_end != NULL, "no end of the head");
	/* request line */
	eol = memmem(w, (size_t)(hdr_end + 2 - w), "\r\n", 2);
	sp1 = memchr(w, ' ', (size_t)(eol - w));
	FZ_CHECK(sp1 && (size_t)(sp1 - w) == strlen(sp_method_names[method]) &&
		memcmp(w, sp_method_names[method], (size_t)(sp1 - w)) == 0,
		"request line method");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	FZ_CHECK(sp2 && eol - sp2 == 9 && memcmp(sp2, " HTTP/1.1", 9) == 0,
		"request line: no single space before HTTP/1.1");
	FZ_CHECK((size_t)(sp2 - sp1 - 1) == target->len &&
		memcmp(sp1 + 1, target->data, target->len) == 0,
		"request target is not the call's target");
	FZ_CHECK(sp1[1] == '/', "target without a leading /");
	for (p = sp1 + 1; p < sp2; p++)
		FZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '#',
			"target byte 0x%02x", (unsigned char)*p);

	/* headers */
	hostwant = malloc(c->host.len + 16);
	memcpy(hostwant, c->host.data, c->host.len + 1);
	if (c->port != (c->tls ? 443 : 80))
		snprintf(hostwant + c->host.len, 16, ":%d", c->port);
	for (p = eol + 2; p < hdr_end + 2; p = eol + 2) {
		const char *colon, *v;
		size_t nn, vn;
		eol = memmem(p, (size_t)(hdr_end + 2 - p), "\r\n", 2);
		FZ_CHECK(eol != NULL, "header without CRLF");
		colon = memchr(p, ':', (size_t)(eol - p));
		FZ_CHECK(colon && colon > p && colon[1] == ' ',
			"header line without 'Name: '");
		for (nn = 0; p + nn < colon; nn++)
			FZ_CHECK(tchar((unsigned char)p[nn]), "header name byte "
				"0x%02x", (unsigned char)p[nn]);
		v = colon + 2;
		vn = (size_t)(eol - v);
		for (nn = 0; nn < vn; nn++) {
			unsigned char ch = (unsigned char)v[nn];
			FZ_CHECK((ch >= 0x20 && ch != 0x7f) || ch == '\t',
				"control byte 0x%02x in a header value", ch);
		}
		nn = (size_t)(colon - p);
#define IS(name) (nn == sizeof name - 1 && strncasecmp(p, name, nn) == 0)
		if (IS("Host")) {
			hosts++;
			FZ_CHECK(vn == strlen(hostwant) && memcmp(v, hostwant,
				vn) == 0, "Host: %.*s, want %s", (int)vn, v,
				hostwant);
			FZ_CHECK_ID("url_ipv6_literal", valid_host(c->host.data,
				c->host.len), "Host header names the invalid host "
				"\"%s\"", c->host.data);
		} else if (IS("User-Agent")) {
			uas++;
			FZ_CHECK(vn == c->user_agent.len && memcmp(v,
				c->user_agent.data, vn) == 0, "User-Agent");
		} else if (IS("Accept")) {
			accepts++;
		} else if (IS("Authorization")) {
			auths++;
			FZ_CHECK((size_t)(eol - p) == c->auth_header.len &&
				memcmp(p, c->auth_header.data, c->auth_header.len)
				== 0, "Authorization is not the client's");
		} else if (IS("Content-Length")) {
			cls++;
			clen = strtol(v, NULL, 10);
		} else if (IS("Content-Type")) {
			cts++;
		} else {
			FZ_FAIL("unexpected header %.*s", (int)nn, p);
		}
#undef IS
	}
	free(hostwant);
	FZ_CHECK(hosts == 1 && uas == 1 && accepts == 1, "Host/User-Agent/"
		"Accept counts %d/%d/%d", hosts, uas, accepts);
	FZ_CHECK(auths == (k->req_is_token ? 0 : 1), "%d Authorization "
		"headers on a%s request", auths, k->req_is_token ? " token" :
		"n API");
	FZ_CHECK(cls <= 1 && cts <= (has_body ? 1 : 0), "Content-* counts");
	if (has_body || method == SP_POST || method == SP_PUT ||
			method == SP_PATCH)
		FZ_CHECK(cls == 1, "no Content-Length on a request with a body");
	{
		const char *b = hdr_end + 4;
		size_t bn = (size_t)(end - b);
		if (cls)
			FZ_CHECK(clen >= 0 && (size_t)clen == bn,
				"Content-Length %ld for %lu bytes", clen,
				(unsigned long)bn);
		else
			FZ_CHECK(bn == 0, "a body without Content-Length");
		if (has_body)
			FZ_CHECK(bn == body->len && (bn == 0 || memcmp(b,
				body->data, bn) == 0), "body differs");
	}
	if (k->req_is_token) {
		/* the token request's body: the credentials, as JSON */
		char err[128];
		size_t vn;
		const char *v;
		FZ_CHECK(sp_json_decode(L, c->token_body.data, c->token_body.len,
			0, err, sizeof err), "token body is not JSON: %s", err);
		FZ_CHECK(lua_istable(L, -1), "token body not an object");
		lua_getfield(L, -1, "grant_type");
		FZ_CHECK(lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L,
			-1), "client_credentials") == 0, "grant_type");
		lua_pop(L, 1);
		lua_getfield(L, -1, "client_id");
		v = lua_tolstring(L, -1, &vn);
		FZ_CHECK(v && vn == idn && memcmp(v, id, vn) == 0, "client_id");
		lua_pop(L, 1);
		lua_getfield(L, -1, "client_secret");
		v = lua_tolstring(L, -1, &vn);
		FZ_CHECK(v && vn == sn && memcmp(v, secret, vn) == 0,
			"client_secret");
		lua_pop(L, 2);
	}
}

static int opt_ok(const char *s, size_t n)
{
	/* core.c's opt_string: non-empty, at most 4096, a header value */
	return n > 0 && n <= 4096 && sp_check_header_value(s, n) == NULL;
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	sp_client *c = &x->c;
	sp_call *k = &x->k;
	const uint8_t *d = x->d;
	size_t n = x->n, ln, fn, cn, idn = 0, sn = 0, tn = 0;
	const char *line, *flags, *cred, *ua, *path, *query, *id = "",
		*secret = "", *tok = "";
	const char *m;

	fz_cut(&d, &n, '\n', &line, &ln);
	if (sp_parse_base_url(c, line, ln) != NULL)
		return 0;
	fz_cut(&d, &n, '\n', &flags, &fn);
	fz_cut(&d, &n, '\n', &cred, &cn);
	m = fn ? strchr("GPUAD", flags[0]) : NULL;
	k->method = m && flags[0] ? (int)(m - "GPUAD") : SP_GET;
	k->req_is_token = memchr(flags, 'T', fn) != NULL;
	c->oauth = memchr(flags, 'K', fn) == NULL;
	if (c->oauth) {
		const uint8_t *cd = (const uint8_t *)cred;
		size_t cs = cn;
		fz_cut(&cd, &cs, ':', &id, &idn);
		fz_cut(&cd, &cs, ':', &secret, &sn);
		tok = (const char *)cd;
		tn = cs;
		if (!opt_ok(id, idn) || !opt_ok(secret, sn))
			return 0;
		sp_buf_set(&c->client_id, id, idn);
		sp_buf_set(&c->client_secret, secret, sn);
	} else {
		if (!opt_ok(cred, cn) || !sp_token_acceptable(cred, cn))
			return 0;
		sp_buf_set(&c->api_key, cred, cn);
		k->req_is_token = 0;
	}
	fz_cut(&d, &n, '\n', &ua, &ln);
	if (opt_ok(ua, ln))
		sp_buf_set(&c->user_agent, ua, ln);
	else
		sp_buf_adds(&c->user_agent, "lua-sendpulse/" SP_VERSION
			" libcurl/fuzz");
	if (!sp_token_init(c)) {
		/* only invalid UTF-8 in the credentials can make the JSON
		 * token body fail; core_new reports it as "out of memory" */
		FZ_CHECK(c->oauth && (!fz_valid_utf8((const unsigned char *)id,
			idn) || !fz_valid_utf8((const unsigned char *)secret, sn)),
			"sp_token_init failed on valid credentials");
		return 0;
	}
	if (c->oauth) {
		if (sp_token_acceptable(tok, tn))
			sp_token_install(c, tok, tn, sp_walltime() + 3600);
		else
			k->req_is_token = 1;	/* no token: fetch one first */
	}

	fz_cut(&d, &n, '\n', &path, &ln);
	if (sp_check_path(path, ln) != NULL)
		return 0;
	sp_buf_add(&k->target, c->base_path.data, c->base_path.len);
	sp_buf_add(&k->target, path, ln);
	fz_cut(&d, &n, '\n', &query, &ln);
	if (ln) {
		const uint8_t *qd = (const uint8_t *)query;
		size_t qs = ln, before = k->target.len;
		int items = 0;
		lua_newtable(L);
		/* (more than 64 keys is refused with a clear error) */
		while (qs && items++ < 64) {
			const char *item, *kk;
			size_t in, kn;
			const uint8_t *id2;
			fz_cut(&qd, &qs, '&', &item, &in);
			id2 = (const uint8_t *)item;
			fz_cut(&id2, &in, '=', &kk, &kn);
			lua_pushlstring(L, kk, kn);
			lua_pushlstring(L, (const char *)id2, in);
			lua_rawset(L, -3);
		}
		sp_buf_addc(&k->target, '?');
		sp_encode_query(L, -1, &k->target, "query");
		if (k->target.len == before + 1)
			k->target.data[--k->target.len] = '\0';
		lua_pop(L, 1);
	}
	if (memchr(flags, 'B', fn)) {
		sp_buf_set(&k->body, d, n);
		k->has_body = 1;
	}

	{
		char err[160];
		/* the same descriptor the libcurl executor reads */
		sp_request_fill(k, 30);
		FZ_CHECK(sp_wire_request(k, err, sizeof err),
			"sp_wire_request failed: %s", err);
	}
	check_wire(L, x, id, idn, secret, sn);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx x;
	int st;
	memset(&x, 0, sizeof x);
	x.d = d;
	x.n = n;
	x.k.client = &x.c;
	x.k.retry_after = -1;
	st = fz_pcall(L, body, &x, mode, at, count);
	fz_expect_status(st, mode, "wire");
	sp_client_release(&x.c);
	fz_buf_release(&x.k.target);
	fz_buf_release(&x.k.body);
	fz_buf_release(&x.k.wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
