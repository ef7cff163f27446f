/*
 * fuzz_errors: error translation in errors.c -- sp_push_response_error
 * (status + body -> error object), sp_response_error_code (the retry
 * logic's peek at error_code), sp_push_failure_error (transport failures)
 * and the error object's __tostring, on a fake client that holds a
 * client secret, an API key, a current and a previous token, and a call
 * holding a token a 401 rejected.
 *
 * Input: a header line, then the response body.
 *   "<status> <method G|P|U|A|D> <T: token request> <kind hint -|0-7>
 *    <Retry-After value> <path 0-4> <pad>\n<body>"
 * Missing or malformed fields get defaults. <pad> spaces are put before
 * the body, so small inputs reach the 4096-byte err.body cut-off.
 *
 * Checks:
 *   - one value pushed, with the sendpulse.Error metatable, every field of
 *     the right type; kind one of the eight, the forced one when a hint is
 *     given, rate_limit on a 429, auth on a 401 (unless the body says
 *     2020202020); status, method and attempts as set; err.path has no
 *     query and no base path; retry_after only on rate_limit errors;
 *     err.body is the first 4096 bytes of the body unless it says
 *     [REDACTED]; sp_response_error_code agrees with err.code and leaves
 *     the stack alone;
 *   - redaction: no secret appears in err.message, err.body, err.path or
 *     tostring(err) [id secret_leak]; nor in err.body JSON-escaped ("\/",
 *     "\u0041"), percent-encoded ("+" as a space or not), both, valid JSON
 *     or not [id escaped_secret], nor inside base64 at any alignment [id
 *     base64_secret]; nor, where a field was cut short, as a prefix of six
 *     or more bytes at the cut [id truncated_secret];
 *   - tostring(err) is one line.
 */
#include "fuzz_common.h"

#include <math.h>

static const char *const secrets[] = {
	"Cl1ent/Secret+Value=",			/* client_secret */
	"ApiKey-0123456789abcdef",		/* api_key */
	"eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA.c2ln",	/* token */
	"eyPrevToken.0123.xyz",			/* prev_token */
	"eyRejected.4567.abc",			/* the call's rejected token */
};
#define NSECRETS (sizeof secrets / sizeof secrets[0])

typedef struct {
	const uint8_t *d;
	size_t n;
	uint64_t h;
	/* parsed header */
	int status, method, token_req, hint, pathsel;
	size_t pad;
	const char *ra;
	size_t ran;
	const char *body;
	size_t bodyn;
	/* the fakes */
	sp_client c;
	sp_call k;
} ctx;

static void parse_header(ctx *x)
{
	const uint8_t *d = x->d;
	size_t n = x->n, tn;
	const char *line, *tok;
	size_t ln;
	const uint8_t *ld;
	char tmp[32];
	int i = 0;

	x->status = 500;
	x->method = SP_GET;
	x->token_req = 0;
	x->hint = -1;
	x->ra = NULL;
	x->ran = 0;
	x->pathsel = 0;
	x->pad = 0;
	if (!fz_cut(&d, &n, '\n', &line, &ln)) {
		/* no header: all body */
		x->body = (const char *)x->d;
		x->bodyn = x->n;
		return;
	}
	x->body = (const char *)d;
	x->bodyn = n;
	ld = (const uint8_t *)line;
	while (ln > 0) {
		fz_cut(&ld, &ln, ' ', &tok, &tn);
		memcpy(tmp, tok, tn < sizeof tmp - 1 ? tn : sizeof tmp - 1);
		tmp[tn < sizeof tmp - 1 ? tn : sizeof tmp - 1] = '\0';
		switch (i++) {
		case 0: {
			long s = strtol(tmp, NULL, 10);
			if (s < 100 || s > 999)
				s = 100 + labs(s % 900);
			x->status = (int)s;
			break;
		}
		case 1: {
			const char *m = strchr("GPUAD", tmp[0]);
			x->method = m && tmp[0] ? (int)(m - "GPUAD") : SP_GET;
			break;
		}
		case 2:
			x->token_req = tmp[0] == 'T';
			break;
		case 3:
			x->hint = tmp[0] >= '0' && tmp[0] <= '7' ? tmp[0] - '0' : -1;
			break;
		case 4:
			x->ra = tok;
			x->ran = tn;
			break;
		case 5:
			x->pathsel = tmp[0] >= '0' && tmp[0] <= '4' ? tmp[0] - '0' : 0;
			break;
		case 6:
			x->pad = strtoul(tmp, NULL, 10) % 20000;
			break;
		}
	}
}

static void setup(ctx *x)
{
	sp_client *c = &x->c;
	sp_call *k = &x->k;
	size_t i;

	memset(c, 0, sizeof *c);
	memset(k, 0, sizeof *k);
	c->oauth = 1;
	sp_buf_adds(&c->client_secret, secrets[0]);
	sp_buf_adds(&c->api_key, secrets[1]);
	sp_buf_adds(&c->token, secrets[2]);
	sp_buf_adds(&c->prev_token, secrets[3]);
	k->client = c;
	k->method = x->method;
	k->req_is_token = x->token_req;
	k->status = x->status;
	k->retry_after = -1;
	k->attempts = 1 + (int)(x->h % 3);
	sp_buf_adds(&k->rejected, secrets[4]);
	if (x->pathsel == 1)
		sp_buf_adds(&c->base_path, "/api");
	sp_buf_add(&c->token_target, c->base_path.data ? c->base_path.data : "",
		c->base_path.len);
	sp_buf_adds(&c->token_target, "/oauth/access_token");
	switch (x->pathsel) {
	case 0:
		sp_buf_adds(&k->target, "/addressbooks/42");
		break;
	case 1:
		sp_buf_adds(&k->target, "/api/addressbooks/42/emails?limit=10");
		break;
	case 2:
		sp_buf_adds(&k->target, "/x/");
		sp_buf_adds(&k->target, secrets[1]);
		sp_buf_adds(&k->target, "/y?key=");
		sp_buf_adds(&k->target, secrets[2]);
		break;
	case 3:
		/* the token across the 512-byte cut of err.path */
		for (i = 0; i < 500; i++)
			sp_buf_addc(&k->target, i % 50 ? 'p' : '/');
		sp_buf_adds(&k->target, secrets[2]);
		break;
	default:
		break;	/* no target at all */
	}
	if (x->pad || x->bodyn) {
		if (x->pad && sp_buf_reserve(&k->resp, x->pad)) {
			memset(k->resp.data, ' ', x->pad);
			k->resp.len = x->pad;
		}
		sp_buf_add(&k->resp, x->body, x->bodyn);
	}
}

static void teardown(ctx *x)
{
	sp_buf *bufs[] = { &x->c.client_secret, &x->c.api_key, &x->c.token,
		&x->c.prev_token, &x->c.base_path, &x->c.token_target,
		&x->k.rejected, &x->k.target, &x->k.resp, &x->k.errmsg,
		&x->k.ebody_message };
	size_t i;
	for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		fz_buf_release(bufs[i]);
}

/* ---- checks ------------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Undoes JSON string escapes wherever they appear (out: n bytes). */
static size_t json_unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	while (i < n) {
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[i + 1];
			const char *m = strchr("\"\\/bfnrt", c);
			if (c && m) {
				out[o++] = "\"\\/\b\f\n\r\t"[m - "\"\\/bfnrt"];
				i += 2;
				continue;
			}
			if (c == 'u' && i + 6 <= n) {
				int h0 = hexval((unsigned char)s[i + 2]),
					h1 = hexval((unsigned char)s[i + 3]),
					h2 = hexval((unsigned char)s[i + 4]),
					h3 = hexval((unsigned char)s[i + 5]);
				if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
					unsigned cp = (unsigned)(h0 << 12 | h1 << 8 |
						h2 << 4 | h3);
					/* secrets are ASCII: other code points
					 * cannot be part of one */
					out[o++] = cp < 0x80 ? (char)cp : '?';
					i += 6;
					continue;
				}
			}
		}
		out[o++] = s[i++];
	}
	return o;
}

/* Percent-decodes s (out: n bytes); plus: "+" reads as a space. */
static size_t pct_decode(const char *s, size_t n, char *out, int plus)
{
	size_t i = 0, o = 0;
	while (i < n) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0
				&& hexval((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(hexval((unsigned char)s[i + 1]) << 4 |
				hexval((unsigned char)s[i + 2]));
			i += 3;
		} else {
			out[o++] = plus && s[i] == '+' ? ' ' : s[i];
			i++;
		}
	}
	return o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

/* Does a secret hide in a base64 run of s, decoded from any of the four
 * character offsets in the run? */
static int base64_hides(const char *s, size_t n, const char *secret,
	size_t sn)
{
	size_t i = 0;
	while (i < n) {
		size_t a = i, e, off;
		while (a < n && b64val((unsigned char)s[a]) < 0)
			a++;
		e = a;
		while (e < n && b64val((unsigned char)s[e]) >= 0)
			e++;
		for (off = 0; off < 4 && a + off < e; off++) {
			char *out = malloc(e - a + 1);
			size_t o = 0, j, bits = 0;
			unsigned acc = 0;
			int hit;
			for (j = a + off; j < e; j++) {
				acc = (acc << 6 | (unsigned)b64val((unsigned char)s[j]))
					& 0xFFFFFF;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					out[o++] = (char)(acc >> bits);
				}
			}
			hit = fz_contains(out, o, secret, sn);
			free(out);
			if (hit)
				return 1;
		}
		i = e > a ? e : a + 1;
	}
	return 0;
}

/*
 * cut: the field was shortened from raw (rawn bytes). It must not end
 * with the start of a secret that raw held whole (redaction comes first).
 * When raw never held the secret, ending with a few of its first bytes is
 * only what raw said there (found in CI: a body padded to 4090 bytes then
 * "eyJhbG", the common start of every JWT, then other bytes).
 */
static void no_secret(const char *field, const char *s, size_t n, int cut,
	const char *raw, size_t rawn)
{
	size_t i, k;
	for (i = 0; i < NSECRETS; i++) {
		size_t sn = strlen(secrets[i]);
		FZ_CHECK_ID("secret_leak", !fz_contains(s, n, secrets[i], sn),
			"%s contains the secret \"%s\"", field, secrets[i]);
		if (strcmp(field, "err.body") == 0) {
			/* any JSON-escaped or percent-encoded spelling, whether
			 * or not the body as a whole is valid JSON */
			char *u = malloc(n + 1), *v = malloc(n + 1);
			size_t un = json_unescape(s, n, u), vn;
			int hit = fz_contains(u, un, secrets[i], sn), plus;
			for (plus = 0; plus < 2; plus++) {
				vn = pct_decode(s, n, v, plus);
				hit |= fz_contains(v, vn, secrets[i], sn);
				vn = pct_decode(u, un, v, plus);
				hit |= fz_contains(v, vn, secrets[i], sn);
			}
			FZ_CHECK_ID("escaped_secret", !hit, "%s contains the "
				"secret \"%s\" in an encoded form", field,
				secrets[i]);
			FZ_CHECK_ID("base64_secret", !base64_hides(s, n, secrets[i],
				sn) && !base64_hides(u, un, secrets[i], sn),
				"%s contains the secret \"%s\" in base64", field,
				secrets[i]);
			free(u);
			free(v);
		}
		if (cut && fz_contains(raw, rawn, secrets[i], sn)) {
			for (k = 6; k < sn && k <= n; k++)
				FZ_CHECK_ID("truncated_secret", memcmp(s + n - k,
					secrets[i], k) != 0, "%s was cut in the middle "
					"of the secret \"%s\" and ends with its first "
					"%lu bytes", field, secrets[i],
					(unsigned long)k);
		}
	}
}

static const char *get_string(lua_State *L, int t, const char *name,
	size_t *n, int required)
{
	int ty = lua_getfield(L, t, name);
	const char *s;
	if (ty == LUA_TNIL) {
		FZ_CHECK(!required, "err.%s missing", name);
		lua_pop(L, 1);
		*n = 0;
		return NULL;
	}
	FZ_CHECK(ty == LUA_TSTRING, "err.%s is a %s", name,
		lua_typename(L, ty));
	s = lua_tolstring(L, -1, n);
	lua_pop(L, 1);	/* still anchored by the error table */
	return s;
}

static void check_error(lua_State *L, ctx *x, int t, long long peek,
	int peek_has)
{
	const char *kind, *msg, *body, *path, *method, *str;
	size_t kn, mn, bn, pn, men, sn, i;
	int ty, found = 0;

	FZ_CHECK(lua_istable(L, t), "the error is not a table");
	FZ_CHECK(lua_getmetatable(L, t), "the error has no metatable");
	luaL_getmetatable(L, SP_ERROR_MT);
	FZ_CHECK(lua_rawequal(L, -1, -2), "not the sendpulse.Error metatable");
	lua_pop(L, 2);

	kind = get_string(L, t, "kind", &kn, 1);
	for (i = 0; i <= SP_KIND_DECODE; i++)
		if (strcmp(kind, sp_kind_names[i]) == 0)
			found = 1;
	FZ_CHECK(found, "kind %s", kind);
	if (x->hint >= 0)
		FZ_CHECK(strcmp(kind, sp_kind_names[x->hint]) == 0, "kind %s "
			"despite the hint %s", kind, sp_kind_names[x->hint]);
	else if (x->status == 429)
		FZ_CHECK(strcmp(kind, "rate_limit") == 0, "429 gave %s", kind);
	else if (x->status == 401 && !(peek_has && peek == 2020202020LL))
		FZ_CHECK(strcmp(kind, "auth") == 0, "401 gave %s", kind);

	ty = lua_getfield(L, t, "status");
	FZ_CHECK(ty == LUA_TNUMBER && lua_tointeger(L, -1) == x->status,
		"err.status");
	lua_pop(L, 1);

	ty = lua_getfield(L, t, "code");
	FZ_CHECK((ty == LUA_TNUMBER) == (peek_has != 0), "err.code present: "
		"%d, sp_response_error_code: %d", ty == LUA_TNUMBER, peek_has);
	if (ty == LUA_TNUMBER)
		FZ_CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == peek,
			"err.code differs from sp_response_error_code");
	lua_pop(L, 1);

	msg = get_string(L, t, "message", &mn, 1);
	FZ_CHECK(mn > 0, "empty err.message");
	no_secret("err.message", msg, mn, 0, NULL, 0);

	body = get_string(L, t, "body", &bn, 1);
	no_secret("err.body", body, bn, x->k.resp.len > SP_ERROR_BODY_MAX,
		x->k.resp.data, x->k.resp.len);
	{
		/* the first bytes of the body, up to where a secret was cut
		 * out (the "[REDACTED]" marker itself may be cut at the end) */
		size_t want = x->k.resp.len < SP_ERROR_BODY_MAX
			? x->k.resp.len : SP_ERROR_BODY_MAX, same = 0;
		while (same < bn && same < want &&
				body[same] == x->k.resp.data[same])
			same++;
		if (same < bn || same < want) {
			size_t rest = bn - same < 10 ? bn - same : 10;
			FZ_CHECK(same < bn && memcmp(body + same, "[REDACTED]",
				rest) == 0, "err.body is not the first %lu bytes "
				"of the body, and differs at byte %lu without a "
				"[REDACTED] there", (unsigned long)want,
				(unsigned long)same);
		}
	}

	method = get_string(L, t, "method", &men, 1);
	FZ_CHECK(strcmp(method, sp_method_names[x->token_req ? SP_POST
		: x->method]) == 0, "err.method %s", method);

	path = get_string(L, t, "path", &pn, 1);
	FZ_CHECK(memchr(path, '?', pn) == NULL, "err.path keeps the query");
	if (x->pathsel == 1 && !x->token_req)
		FZ_CHECK(strcmp(path, "/addressbooks/42/emails") == 0,
			"err.path %s", path);
	if (x->token_req)
		FZ_CHECK(strcmp(path, "/oauth/access_token") == 0, "token "
			"err.path %s", path);
	no_secret("err.path", path, pn, x->pathsel == 3 && !x->token_req,
		x->k.target.data, x->k.target.len);

	ty = lua_getfield(L, t, "retry_after");
	if (ty != LUA_TNIL)
		FZ_CHECK(ty == LUA_TNUMBER && strcmp(kind, "rate_limit") == 0 &&
			lua_tonumber(L, -1) >= 0, "err.retry_after on a %s error",
			kind);
	lua_pop(L, 1);

	ty = lua_getfield(L, t, "attempts");
	FZ_CHECK(ty == LUA_TNUMBER && lua_tointeger(L, -1) == x->k.attempts,
		"err.attempts");
	lua_pop(L, 1);

	/* __tostring */
	str = luaL_tolstring(L, t, &sn);
	FZ_CHECK(strncmp(str, "sendpulse ", 10) == 0, "tostring: %s", str);
	FZ_CHECK(!memchr(str, '\n', sn) && !memchr(str, '\r', sn),
		"tostring(err) spans lines");
	no_secret("tostring(err)", str, sn, 0, NULL, 0);
	lua_pop(L, 1);
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	int top = lua_gettop(L), has;
	long long code = -12345;
	double ra = x->ra ? sp_parse_retry_after(x->ra, x->ran, 1.7e9) : -1;

	has = sp_response_error_code(L, &x->k, &code);
	FZ_CHECK(lua_gettop(L) == top, "sp_response_error_code moved the "
		"stack by %d", lua_gettop(L) - top);
	if (!has)
		code = 0;

	sp_push_response_error(L, &x->k, x->hint, ra);
	FZ_CHECK(lua_gettop(L) == top + 1, "sp_push_response_error pushed "
		"%d values", lua_gettop(L) - top);
	check_error(L, x, top + 1, code, has);
	lua_settop(L, top);

	/* the same bytes as a transport failure's detail */
	x->k.failure = 1 + x->status % 99;
	sp_buf_set(&x->k.errmsg, x->k.resp.data, x->k.resp.len);
	sp_push_failure_error(L, &x->k);
	FZ_CHECK(lua_gettop(L) == top + 1, "sp_push_failure_error pushed %d",
		lua_gettop(L) - top);
	{
		size_t mn, sn;
		const char *m, *s;
		lua_getfield(L, -1, "message");
		m = lua_tolstring(L, -1, &mn);
		FZ_CHECK(m != NULL, "failure without a message");
		no_secret("failure err.message", m, mn, 0, NULL, 0);
		lua_pop(L, 1);
		s = luaL_tolstring(L, top + 1, &sn);
		no_secret("tostring(failure)", s, sn, 0, NULL, 0);
	}
	lua_settop(L, top);
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
	x.h = fz_hash(d, n);
	parse_header(&x);
	setup(&x);
	st = fz_pcall(L, body, &x, mode, at, count);
	fz_expect_status(st, mode, "error translation");
	teardown(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
