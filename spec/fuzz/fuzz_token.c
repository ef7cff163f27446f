/*
 * fuzz_token: sp_token_parse (token.c) on a fake OAuth client and call
 * whose response body is the input, with and without a token already
 * installed; then sp_token_usable / sp_token_drop on the result.
 *
 * Checks:
 *   - the stack is left as found, success or not;
 *   - acceptance matches the documented rules, re-derived here from the
 *     decoded body: a JSON object (a table), token_type absent or
 *     "Bearer" in any case, expires_in absent (3600) or a number or
 *     numeric string > 0 (capped at a day), access_token a string of
 *     8..16384 printable
 *     ASCII bytes without spaces;
 *   - on success: the client holds exactly that token, the Authorization
 *     header is "Authorization: Bearer <token>", the generation moved by
 *     one, a replaced token became prev_token, the expiry is now + life,
 *     the leeway is within 0..60 s;
 *   - on failure: a reason, and the client's token state untouched.
 */
#include "fuzz_common.h"

#include <math.h>
#include <strings.h>

static const char old_token[] = "eyOldToken.abc.def";

typedef struct {
	const uint8_t *d;
	size_t n;
	int had_token;
	sp_client c;
	sp_call k;
} ctx;

/* The rules, from the decoded body. Returns 1 and the token when the
 * response must be accepted. */
static int expected(lua_State *L, ctx *x, const char **tok, size_t *tn,
	double *life)
{
	char err[128];
	int ok = 1, ty;
	*life = 3600;
	if (!sp_json_decode(L, (const char *)x->d, x->n, 0, err, sizeof err))
		return 0;
	if (!lua_istable(L, -1))
		return 0;
	ty = lua_getfield(L, -1, "token_type");
	if (ty != LUA_TNIL && (ty != LUA_TSTRING ||
			strcasecmp(lua_tostring(L, -1), "bearer") != 0))
		ok = 0;
	lua_pop(L, 1);
	ty = lua_getfield(L, -1, "expires_in");
	if (ty == LUA_TNUMBER || ty == LUA_TSTRING) {
		*life = lua_tonumber(L, -1);
		if (!(*life > 0))
			ok = 0;
		else if (*life > SP_TOKEN_LIFE_MAX)
			*life = SP_TOKEN_LIFE_MAX;	/* not believed beyond a day */
	}
	lua_pop(L, 1);
	ty = lua_getfield(L, -1, "access_token");
	if (ty != LUA_TSTRING) {
		ok = 0;
	} else {
		size_t i;
		*tok = lua_tolstring(L, -1, tn);
		if (*tn < SP_SECRET_MIN || *tn > SP_TOKEN_MAX)
			ok = 0;
		for (i = 0; i < *tn; i++)
			if ((unsigned char)(*tok)[i] <= 0x20 ||
					(unsigned char)(*tok)[i] >= 0x7f)
				ok = 0;
	}
	/* the token string stays anchored by the table below it */
	lua_pop(L, 1);
	return ok;
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	sp_client *c = &x->c;
	int top = lua_gettop(L), ok, want;
	double life = -1, wlife = 0, before, after;
	const char *why = NULL, *tok = NULL;
	size_t tn = 0;
	unsigned gen = c->token_gen;

	want = expected(L, x, &tok, &tn, &wlife);
	top = lua_gettop(L);	/* the decoded body stays, anchoring tok */

	before = sp_walltime();
	ok = sp_token_parse(L, &x->k, &life, &why);
	after = sp_walltime();
	FZ_CHECK(lua_gettop(L) == top, "sp_token_parse moved the stack by %d",
		lua_gettop(L) - top);
	FZ_CHECK(ok == want, "sp_token_parse %s a response the rules %s "
		"(%s)", ok ? "accepted" : "refused", want ? "accept" : "refuse",
		why ? why : "-");
	if (!ok) {
		FZ_CHECK(why != NULL && why[0] != '\0', "no reason given");
		FZ_CHECK(c->token_gen == gen, "a refused response changed the "
			"token generation");
		if (x->had_token)
			FZ_CHECK(c->token.len == sizeof old_token - 1 &&
				memcmp(c->token.data, old_token, c->token.len) == 0,
				"a refused response changed the token");
		else
			FZ_CHECK(c->token.len == 0, "a refused response installed "
				"a token");
		return 0;
	}
	FZ_CHECK(life > 0 && (life == wlife || (isnan(life) && isnan(wlife))),
		"expires_in %g, want %g", life, wlife);
	FZ_CHECK(c->token.len == tn && memcmp(c->token.data, tok, tn) == 0,
		"installed token differs from access_token");
	FZ_CHECK(c->auth_header.len == 22 + tn &&
		memcmp(c->auth_header.data, "Authorization: Bearer ", 22) == 0 &&
		memcmp(c->auth_header.data + 22, tok, tn) == 0,
		"Authorization header");
	FZ_CHECK(c->token_gen == gen + 1, "token generation %u -> %u", gen,
		c->token_gen);
	if (x->had_token && !(tn == sizeof old_token - 1 &&
			memcmp(tok, old_token, tn) == 0))
		FZ_CHECK(c->prev_token.len == sizeof old_token - 1 &&
			memcmp(c->prev_token.data, old_token,
			c->prev_token.len) == 0, "the replaced token is not "
			"prev_token");
	if (isinf(life))
		FZ_CHECK(isinf(c->token_expires) && c->token_expires > 0,
			"expiry %g for an infinite life", c->token_expires);
	else
		FZ_CHECK(c->token_expires >= before + life - 1e-6 * life - 1e-3 &&
			c->token_expires <= after + life + 1e-6 * life + 1e-3,
			"expiry %.17g for a life of %g", c->token_expires, life);
	FZ_CHECK(c->token_leeway >= 0 && c->token_leeway <= 60, "leeway %g",
		c->token_leeway);
	/* (a token may be stale on arrival -- expires_in 1e-9 --: call.c
	 * bounds the fetches of one call; fuzz_call checks that) */

	/* and dropping it */
	gen = c->token_gen;
	sp_token_drop(c);
	FZ_CHECK(c->token.len == 0 && c->auth_header.len == 0 &&
		c->token_gen == gen + 1 && !sp_token_usable(c, sp_walltime()),
		"sp_token_drop left a usable token");
	FZ_CHECK(c->prev_token.len == tn && memcmp(c->prev_token.data, tok,
		tn) == 0, "the dropped token is not prev_token");
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx x;
	int st;
	sp_buf *bufs[] = { &x.c.token, &x.c.prev_token, &x.c.auth_header,
		&x.k.resp };
	size_t i;

	memset(&x, 0, sizeof x);
	x.d = d;
	x.n = n;
	x.c.oauth = 1;
	x.k.client = &x.c;
	x.k.req_is_token = 1;
	x.k.status = 200;
	x.k.retry_after = -1;
	x.had_token = (int)(fz_hash(d, n) & 1);
	if (x.had_token)
		sp_token_install(&x.c, old_token, sizeof old_token - 1,
			sp_walltime() + 100);
	if (n)
		sp_buf_set(&x.k.resp, d, n);
	st = fz_pcall(L, body, &x, mode, at, count);
	fz_expect_status(st, mode, "sp_token_parse");
	for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		fz_buf_release(bufs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
