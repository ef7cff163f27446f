/*
 * token.c - the access token: the request that fetches it, the checks on
 * what comes back, the cached copy and its expiry, the Authorization
 * header built once per token.
 *
 * Ordering of the lifecycle (when to fetch, the single refresh on a 401,
 * the store hand-offs) lives in call.c; this file only keeps the state
 * consistent.
 */
#include <string.h>
#include <strings.h>

#include "sendpulse.h"

#define LEEWAY_MAX 60.0		/* refresh up to a minute early ... */
#define LEEWAY_FRACTION 0.1	/* ... or 10% of a short lifetime */

static int build_auth_header(sp_client *c, const char *tok, size_t n)
{
	sp_buf_wipe(&c->auth_header);
	return sp_buf_adds(&c->auth_header, "Authorization: Bearer ") &&
		sp_buf_add(&c->auth_header, tok, n);
}

/* Printable ASCII only: the token goes verbatim into a header line. */
int sp_token_chars_ok(const char *tok, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
			return 0;
	return 1;
}

/* ... and long enough to be cut out of error text without shredding
 * ordinary words, short enough to be sane. */
int sp_token_acceptable(const char *tok, size_t n)
{
	return n >= SP_SECRET_MIN && n <= SP_TOKEN_MAX &&
		sp_token_chars_ok(tok, n);
}

/* Everything derived from the credentials once, at client creation. */
int sp_token_init(sp_client *c)
{
	sp_buf id = { NULL, 0, 0 };
	char hex[65];
	int ok = 1;

	ok &= sp_buf_set(&c->token_target, c->base_path.data,
		c->base_path.len);
	ok &= sp_buf_adds(&c->token_target, "/oauth/access_token");

	/* The store key names the account without revealing the secret. */
	ok &= sp_buf_add(&id, c->origin.data, c->origin.len);
	ok &= sp_buf_add(&id, c->base_path.data, c->base_path.len);
	if (c->oauth) {
		ok &= sp_buf_addc(&id, '\n');
		ok &= sp_buf_add(&id, c->client_id.data, c->client_id.len);
		ok &= sp_buf_addc(&id, '\n');
		ok &= sp_buf_add(&id, c->client_secret.data, c->client_secret.len);

		sp_buf_clear(&c->token_body);
		ok &= sp_buf_adds(&c->token_body, "{\"grant_type\":"
			"\"client_credentials\",\"client_id\":");
		ok &= sp_json_string(&c->token_body, c->client_id.data,
			c->client_id.len);
		ok &= sp_buf_adds(&c->token_body, ",\"client_secret\":");
		ok &= sp_json_string(&c->token_body, c->client_secret.data,
			c->client_secret.len);
		ok &= sp_buf_addc(&c->token_body, '}');
	} else {
		ok &= sp_buf_adds(&id, "\napi-key\n");
		ok &= sp_buf_add(&id, c->api_key.data, c->api_key.len);
		ok &= build_auth_header(c, c->api_key.data, c->api_key.len);
		c->token_gen = 1;
	}
	if (ok) {
		sp_sha256_hex(id.data, id.len, hex);
		memcpy(c->store_key, "sendpulse:", 10);
		memcpy(c->store_key + 10, hex, 65);
	}
	sp_buf_wipe(&id);
	sp_buf_free(&id);
	return ok;
}

int sp_token_usable(sp_client *c, double now)
{
	if (!c->oauth)
		return 1;
	return c->token.len > 0 && now < c->token_expires - c->token_leeway;
}

/* Makes tok the current token. Returns 0 on memory exhaustion. */
int sp_token_install(sp_client *c, const char *tok, size_t n,
	double expires_at)
{
	double life = expires_at - sp_walltime();

	if (c->token.len && !(c->token.len == n &&
			memcmp(c->token.data, tok, n) == 0)) {
		sp_buf_wipe(&c->prev_token);
		sp_buf_swap(&c->prev_token, &c->token);
	}
	sp_buf_wipe(&c->token);
	if (!sp_buf_set(&c->token, tok, n) || !build_auth_header(c, tok, n)) {
		sp_token_drop(c);
		return 0;
	}
	c->token_expires = expires_at;
	c->token_leeway = life * LEEWAY_FRACTION < LEEWAY_MAX
		? (life > 0 ? life * LEEWAY_FRACTION : 0) : LEEWAY_MAX;
	c->token_gen++;
	return 1;
}

void sp_token_drop(sp_client *c)
{
	if (!c->oauth)
		return;
	if (c->token.len) {
		sp_buf_wipe(&c->prev_token);
		sp_buf_swap(&c->prev_token, &c->token);
	}
	sp_buf_wipe(&c->token);
	sp_buf_wipe(&c->auth_header);
	c->token_expires = 0;
	c->token_gen++;
}

/*
 * Reads a token response ({access_token, token_type, expires_in}) from the
 * call's response body and installs it. Returns 1, or 0 with *why set.
 */
int sp_token_parse(lua_State *L, sp_call *k, double *expires_in,
	const char **why)
{
	char err[128];
	const char *tok;
	size_t n;
	double life = 3600;	/* the documented lifetime, if none is given */
	int ok;

	if (!sp_json_decode(L, k->resp.data ? k->resp.data : "", k->resp.len, 0,
			err, sizeof err)) {
		*why = "the token response is not valid JSON";
		return 0;
	}
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		*why = "the token response is not a JSON object";
		return 0;
	}
	lua_getfield(L, -1, "token_type");
	if (!lua_isnil(L, -1) && (lua_type(L, -1) != LUA_TSTRING ||
			strcasecmp(lua_tostring(L, -1), "Bearer") != 0)) {
		lua_pop(L, 2);
		*why = "the token response has a token_type other than Bearer";
		return 0;
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "expires_in");
	if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING) {
		life = (double)lua_tonumber(L, -1);
		if (!(life > 0)) {
			lua_pop(L, 2);
			*why = "the token response has an invalid expires_in";
			return 0;
		}
		/* SendPulse's tokens live an hour; a lifetime of more than a
		 * day (up to an infinite 1e400) is not believed */
		if (life > SP_TOKEN_LIFE_MAX)
			life = SP_TOKEN_LIFE_MAX;
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "access_token");
	if (lua_type(L, -1) != LUA_TSTRING) {
		lua_pop(L, 2);
		*why = "the token response has no access_token";
		return 0;
	}
	tok = lua_tolstring(L, -1, &n);
	if (!sp_token_acceptable(tok, n)) {
		lua_pop(L, 2);
		*why = "the token response has a malformed access_token";
		return 0;
	}
	ok = sp_token_install(k->client, tok, n, sp_walltime() + life);
	lua_pop(L, 2);
	if (!ok) {
		*why = "out of memory";
		return 0;
	}
	*expires_in = life;
	return 1;
}
