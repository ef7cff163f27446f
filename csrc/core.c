/***
 * The C core of lua-sendpulse: the client object (options, credentials,
 * token state, libcurl handles) and the module's registration. Calls are
 * in call.c (the state machine) and drive.c (its inline driver); each
 * other file registers the functions of its own concern (JSON, URLs, the
 * wire format, the pacer, files, base64, SHA-256). Most users want the
 * Lua front, `require "sendpulse"`; this module is what it is built on.
 * @module sendpulse.core
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sendpulse.h"
#include "redis.h"

/* ======================================================================
 * Options: one row per option, read by one loop (parse_options)
 * ====================================================================== */

enum opt_type {
	OPT_TEXT,	/* a string that may end up in a header or a file name */
	OPT_UTF8,	/* ... and valid UTF-8 (goes into JSON) */
	OPT_KEY,	/* ... printable ASCII without spaces (a header token) */
	OPT_FILE,	/* ... naming a readable file */
	OPT_URL,	/* the base URL */
	OPT_NUMBER,	/* min < v <= max when OPEN_MIN, else min <= v <= max */
	OPT_INT,	/* min <= v <= max, integral, into an int */
	OPT_COUNT,	/* ... into a long long */
	OPT_SIZE,	/* ... into a size_t */
	OPT_BOOL,
	OPT_RATE,	/* a number, or false for "off" */
	OPT_PLAN	/* "free" | "standard" | "enterprise" */
};

#define OPEN_MIN 1	/* flag: the minimum itself is refused */

typedef struct opt_row {
	const char *name;
	int type;
	size_t offset;		/* of the field in sp_client */
	double min, max;
	int flags;
} opt_row;

#define F(field) offsetof(sp_client, field)

static const opt_row options[] = {
	{ "client_id", OPT_UTF8, F(client_id), 0, 0, 0 },
	{ "client_secret", OPT_UTF8, F(client_secret), 0, 0, 0 },
	{ "api_key", OPT_KEY, F(api_key), 0, 0, 0 },
	{ "base_url", OPT_URL, 0, 0, 0, 0 },
	{ "timeout", OPT_NUMBER, F(timeout), 0, 86400, OPEN_MIN },
	{ "connect_timeout", OPT_NUMBER, F(connect_timeout), 0, 86400, OPEN_MIN },
	{ "call_timeout", OPT_NUMBER, F(call_timeout), 0, 86400, OPEN_MIN },
	{ "ca_file", OPT_FILE, F(ca_file), 0, 0, 0 },
	{ "ssl_verify", OPT_BOOL, F(ssl_verify), 0, 0, 0 },
	{ "proxy", OPT_TEXT, F(proxy), 0, 0, 0 },
	{ "user_agent", OPT_TEXT, F(user_agent), 0, 0, 0 },
	{ "max_retries", OPT_INT, F(max_retries), 0, 10, 0 },
	{ "rate_limit", OPT_RATE, F(rate), 0, 10000, OPEN_MIN },
	{ "retry_delay", OPT_NUMBER, F(retry_delay), 0, 60, 0 },
	{ "max_retry_wait", OPT_NUMBER, F(max_retry_wait), 0, 3600, 0 },
	{ "max_body_size", OPT_SIZE, F(max_body_size), 1024, 4294967296.0, 0 },
	{ "max_upload_size", OPT_SIZE, F(max_upload_size), 1,
		4294967296.0, 0 },
	{ "fleet_size", OPT_INT, F(fleet_size), 1, 10000, 0 },
	{ "plan", OPT_PLAN, F(plan), 0, 0, 0 },
	{ "quota_per_minute", OPT_COUNT, F(quota_minute), 1, 1e6, 0 },
	{ "quota_per_day", OPT_COUNT, F(quota_day), 1, 1e12, 0 },
};

#define NOPTIONS (sizeof options / sizeof options[0])

/* The seed's request quotas by pricing plan category. */
static const struct {
	const char *name;
	long long per_minute, per_day;
} plans[] = {
	{ "free", 1000, 500000 },
	{ "standard", 2000, 1000000 },
	{ "enterprise", 3000, 3000000 },
};

static void opt_fail(lua_State *L, const char *name, const char *what)
{
	luaL_error(L, "sendpulse.new: option '%s' %s", name, what);
}

static void opt_type(lua_State *L, const char *name, const char *want)
{
	luaL_error(L, "sendpulse.new: option '%s' must be %s (got %s)", name,
		want, luaL_typename(L, -1));
}

/* The value at the top of the stack, checked as a number of the row. */
static double opt_number(lua_State *L, const opt_row *o)
{
	double v;
	char want[96];
	if (lua_type(L, -1) != LUA_TNUMBER)
		opt_type(L, o->name, "a number");
	v = (double)lua_tonumber(L, -1);
	if (!(v == v) || ((o->flags & OPEN_MIN) ? v <= o->min : v < o->min) ||
			v > o->max) {
		snprintf(want, sizeof want, "must be a number %s %g and at most %g",
			(o->flags & OPEN_MIN) ? "above" : "of at least", o->min,
			o->max);
		opt_fail(L, o->name, want);
	}
	if (o->type != OPT_NUMBER && o->type != OPT_RATE && v != floor(v))
		opt_fail(L, o->name, "must be an integer");
	return v;
}

/* A string option that may go into a header or a file name. */
static void opt_string(lua_State *L, const opt_row *o, sp_buf *dst)
{
	size_t n;
	const char *s, *why;
	if (lua_type(L, -1) != LUA_TSTRING)
		opt_type(L, o->name, "a string");
	s = lua_tolstring(L, -1, &n);
	if (n == 0)
		opt_fail(L, o->name, "must not be empty");
	if (n > 4096)
		opt_fail(L, o->name, "is too long");
	if ((why = sp_check_header_value(s, n)) != NULL)
		opt_fail(L, o->name, why);
	if (!sp_buf_set(dst, s, n))
		luaL_error(L, "out of memory");
}

/* Error text echoed by a server is searched for the secrets; one this
 * short could not be told from ordinary words, and no SendPulse
 * credential is. */
static void opt_secret_length(lua_State *L, const char *name, size_t n)
{
	if (n < SP_SECRET_MIN)
		luaL_error(L, "sendpulse.new: option '%s' is too short to be a "
			"SendPulse credential (at least %d characters)", name,
			SP_SECRET_MIN);
}

static void apply_option(lua_State *L, sp_client *c, const opt_row *o)
{
	char *field = (char *)c + o->offset;
	const char *why;
	size_t n;
	const char *s;
	int i;

	switch (o->type) {
	case OPT_TEXT:
	case OPT_UTF8:
	case OPT_KEY:
	case OPT_FILE:
		opt_string(L, o, (sp_buf *)(void *)field);
		s = ((sp_buf *)(void *)field)->data;
		n = ((sp_buf *)(void *)field)->len;
		if (o->type == OPT_UTF8 && !sp_utf8_valid(s, n))
			opt_fail(L, o->name, "is not valid UTF-8");
		if (o->type == OPT_KEY && !sp_token_chars_ok(s, n))
			opt_fail(L, o->name, "must be printable ASCII without "
				"spaces");
		if (o->type == OPT_FILE && access(s, R_OK) != 0)
			opt_fail(L, o->name, "names a file that cannot be read");
		break;
	case OPT_URL:
		if (lua_type(L, -1) != LUA_TSTRING)
			opt_type(L, o->name, "a string");
		s = lua_tolstring(L, -1, &n);
		if ((why = sp_parse_base_url(c, s, n)) != NULL)
			opt_fail(L, o->name, why);
		break;
	case OPT_NUMBER:
		*(double *)(void *)field = opt_number(L, o);
		break;
	case OPT_INT:
		*(int *)(void *)field = (int)opt_number(L, o);
		break;
	case OPT_COUNT:
		*(long long *)(void *)field = (long long)opt_number(L, o);
		break;
	case OPT_SIZE:
		*(size_t *)(void *)field = (size_t)opt_number(L, o);
		break;
	case OPT_BOOL:
		if (lua_type(L, -1) != LUA_TBOOLEAN)
			opt_type(L, o->name, "a boolean");
		*(int *)(void *)field = lua_toboolean(L, -1);
		break;
	case OPT_RATE:
		if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
			*(double *)(void *)field = 0;
		else if (lua_type(L, -1) != LUA_TNUMBER)
			opt_type(L, o->name, "a number or false");
		else
			*(double *)(void *)field = opt_number(L, o);
		break;
	case OPT_PLAN:
		s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
		for (i = 0; i < (int)(sizeof plans / sizeof plans[0]); i++)
			if (strcmp(s, plans[i].name) == 0)
				break;
		if (i == (int)(sizeof plans / sizeof plans[0]))
			opt_fail(L, o->name, "must be \"free\", \"standard\" or "
				"\"enterprise\"");
		*(int *)(void *)field = i + 1;
		break;
	}
}

static void parse_options(lua_State *L, sp_client *c, int opts)
{
	int has_id = 0, has_secret = 0, has_key = 0;
	size_t i;

	/* defaults */
	c->timeout = 30;
	c->connect_timeout = 10;
	c->call_timeout = 60;
	c->ssl_verify = 1;
	c->max_retries = 2;
	c->retry_delay = 0.5;
	c->max_retry_wait = 60;
	c->max_body_size = 32u << 20;
	c->max_upload_size = 32u << 20;
	c->rate = 10;
	c->fleet_size = 1;

	lua_pushnil(L);
	while (lua_next(L, opts)) {
		const char *name;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sendpulse.new: option names must be strings");
		name = lua_tostring(L, -2);
		for (i = 0; i < NOPTIONS; i++)
			if (strcmp(options[i].name, name) == 0)
				break;
		if (i == NOPTIONS)
			luaL_error(L, "sendpulse.new: unknown option '%s'", name);
		apply_option(L, c, &options[i]);
		if (options[i].offset == F(client_id))
			has_id = 1;
		else if (options[i].offset == F(client_secret))
			has_secret = 1;
		else if (options[i].offset == F(api_key))
			has_key = 1;
		lua_pop(L, 1);
	}
	/* a plan gives the quotas that quota_per_* did not */
	if (c->plan) {
		if (c->quota_minute == 0)
			c->quota_minute = plans[c->plan - 1].per_minute;
		if (c->quota_day == 0)
			c->quota_day = plans[c->plan - 1].per_day;
	}

	if (has_key && (has_id || has_secret))
		luaL_error(L, "sendpulse.new: give either api_key or client_id and "
			"client_secret, not both");
	if (!has_key && !(has_id && has_secret))
		luaL_error(L, has_id || has_secret
			? "sendpulse.new: client_id and client_secret go together"
			: "sendpulse.new: credentials missing: give client_id and "
			  "client_secret, or api_key");
	c->oauth = !has_key;
	if (c->oauth)
		opt_secret_length(L, "client_secret", c->client_secret.len);
	else
		opt_secret_length(L, "api_key", c->api_key.len);
	if (c->host.len == 0) {
		static const char def[] = "https://api.sendpulse.com";
		if (sp_parse_base_url(c, def, sizeof def - 1))
			luaL_error(L, "out of memory");
	}
	if (c->user_agent.len == 0) {
		curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
		if (!sp_buf_printf(&c->user_agent, "lua-sendpulse/%s libcurl/%s",
				SP_VERSION, v && v->version ? v->version : "?"))
			luaL_error(L, "out of memory");
	}
}

/* Sets up the pacers: the local one at the client's share of the rate,
 * and the shape a shared pacer is asked for. Alone, the share is all of
 * it. When a shared pacer normally paces and the local one only stands in
 * (it failed), each of the fleet_size hosts gets the floor of its share:
 * floor(cap / fleet_size) requests in the same window, and
 * floor(per_minute / fleet_size) of the minute's quota, so that the hosts
 * pacing alone together never exceed the account's limits (10 per second
 * over 3 hosts: 3 each, 9 in all, never 4 each). With more hosts than
 * requests per window, one request per host in fleet_size / cap windows:
 * the account's rate on average. */
static int setup_pacing(sp_client *c)
{
	long long minute = c->quota_minute, day = c->quota_day;
	int cap = 0;
	double span = 0;
	if (!c->shared_pacer)
		return sp_pacer_init(&c->pacer, c->rate, minute, day);
	if (c->rate > 0) {
		sp_pacer_shape(c->rate, &c->shared_cap, &c->shared_span);
		cap = c->shared_cap / c->fleet_size;
		span = c->shared_span;
		if (cap < 1) {
			cap = 1;
			span = c->shared_span * c->fleet_size / c->shared_cap;
		}
	}
	if (minute) {
		minute /= c->fleet_size;
		if (minute < 1)
			minute = 1;
	}
	return sp_pacer_init_shape(&c->pacer, cap, span, minute, day);
}

/* ======================================================================
 * The client object
 * ====================================================================== */

sp_client *sp_check_client(lua_State *L, int idx)
{
	return (sp_client *)luaL_checkudata(L, idx, SP_CLIENT_MT);
}

/* Idempotent: shared by close(), __gc and __close. */
void sp_client_release(sp_client *c)
{
	sp_buf *secret[] = { &c->client_secret, &c->api_key, &c->token,
		&c->prev_token, &c->auth_header, &c->token_body };
	sp_buf *plain[] = { &c->client_id, &c->host, &c->origin, &c->base_path,
		&c->token_target, &c->ca_file, &c->proxy, &c->user_agent,
		&c->spare };
	size_t i;

	sp_http_cleanup(c);
	for (i = 0; i < sizeof secret / sizeof secret[0]; i++) {
		sp_buf_wipe(secret[i]);
		sp_buf_free(secret[i]);
	}
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		sp_buf_free(plain[i]);
	sp_pacer_free(&c->pacer);
	c->fetch_owner = NULL;
	c->closed = 1;
}

/***
 * Creates a client. Does no network I/O.
 * @function new
 * @tparam table opts options as documented for `sendpulse.new`
 * @tparam[opt] table plugs `{ store = bool, pacer = bool }`: a Lua token
 *   store or shared pacer will answer the call's "get"/"pace" actions
 * @treturn userdata the client
 * @raise on a missing, contradictory, unknown or mistyped option
 */
static int core_new(lua_State *L)
{
	sp_client *c;

	luaL_checktype(L, 1, LUA_TTABLE);
	c = (sp_client *)sp_newuserdata(L, sizeof *c);
	memset(c, 0, sizeof *c);
	luaL_getmetatable(L, SP_CLIENT_MT);
	lua_setmetatable(L, -2);	/* from here __gc cleans up on errors */
	c->rng = (uint64_t)(uintptr_t)c ^ (uint64_t)(sp_monotime() * 1e9) ^
		0x9E3779B97F4A7C15ULL;
	if (c->rng == 0)
		c->rng = 1;
	c->next_domain = 2;	/* 1 is for Lua transports' single calls */
	sp_io_default(&c->io);

	parse_options(L, c, 1);
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "store");
		c->has_store = c->oauth && lua_toboolean(L, -1);
		lua_getfield(L, 2, "pacer");
		c->shared_pacer = c->rate > 0 && lua_toboolean(L, -1);
		lua_pop(L, 2);
	}
	if (!setup_pacing(c) || !sp_token_init(c))
		return luaL_error(L, "out of memory");
	return 1;
}

static int client_close(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	if (!c->closed)
		sp_client_release(c);
	return 0;
}

static int client_tostring(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	if (c->closed)
		lua_pushliteral(L, "sendpulse client (closed)");
	else
		lua_pushfstring(L, "sendpulse client (%s, %s%s)",
			c->oauth ? "oauth" : "api key", c->origin.data,
			c->base_path.len ? c->base_path.data : "");
	return 1;
}

/* client:store_key() -> the key naming this account in token stores */
static int client_store_key(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	lua_pushstring(L, c->store_key);
	return 1;
}

/* client:endpoint() -> tls, host (no IPv6 brackets), port */
static int client_endpoint(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	const char *h = c->host.data ? c->host.data : "";
	size_t n = c->host.len;
	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	lua_pushboolean(L, c->tls);
	if (n >= 2 && h[0] == '[')
		lua_pushlstring(L, h + 1, n - 2);
	else
		lua_pushlstring(L, h, n);
	lua_pushinteger(L, c->port);
	return 3;
}

/* client:settings() -> a table of the options a Lua transport needs */
static int client_settings(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	lua_createtable(L, 0, 14);
	lua_pushnumber(L, c->timeout);
	lua_setfield(L, -2, "timeout");
	lua_pushnumber(L, c->connect_timeout);
	lua_setfield(L, -2, "connect_timeout");
	lua_pushnumber(L, c->call_timeout);
	lua_setfield(L, -2, "call_timeout");
	lua_pushboolean(L, c->ssl_verify);
	lua_setfield(L, -2, "ssl_verify");
	lua_pushnumber(L, (lua_Number)c->max_body_size);
	lua_setfield(L, -2, "max_body_size");
	lua_pushboolean(L, c->ca_file.len > 0);
	lua_setfield(L, -2, "ca_file");
	lua_pushboolean(L, c->proxy.len > 0);
	lua_setfield(L, -2, "proxy");
	lua_pushboolean(L, c->oauth);
	lua_setfield(L, -2, "oauth");
	lua_pushboolean(L, c->shared_pacer);
	lua_setfield(L, -2, "shared_pacer");
	lua_pushnumber(L, c->rate);
	lua_setfield(L, -2, "rate_limit");
	if (c->shared_cap) {
		lua_pushinteger(L, c->shared_cap);
		lua_setfield(L, -2, "shared_cap");
		lua_pushnumber(L, c->shared_span);
		lua_setfield(L, -2, "shared_span");
	}
	if (c->quota_minute) {
		sp_pushint(L, c->quota_minute);
		lua_setfield(L, -2, "quota_per_minute");
	}
	if (c->quota_day) {
		sp_pushint(L, c->quota_day);
		lua_setfield(L, -2, "quota_per_day");
	}
	/* the local pacer's windows (with a shared pacer: its stand-in) */
	if (c->rate > 0 && c->pacer.nw > 0) {
		lua_pushinteger(L, c->pacer.w[0].cap);
		lua_setfield(L, -2, "local_cap");
		lua_pushnumber(L, c->pacer.w[0].span);
		lua_setfield(L, -2, "local_span");
	}
	if (c->quota_minute && c->pacer.nw > 0) {
		lua_pushinteger(L, c->pacer.w[c->pacer.nw - 1].cap);
		lua_setfield(L, -2, "local_per_minute");
	}
	return 1;
}

/* client:token_state() -> has_token, expires_at (never the token) */
static int client_token_state(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	lua_pushboolean(L, c->oauth && c->token.len > 0);
	if (c->oauth && c->token.len > 0)
		lua_pushnumber(L, c->token_expires);
	else
		lua_pushnil(L);
	return 2;
}

/* client:is_closed() */
static int client_is_closed(lua_State *L)
{
	lua_pushboolean(L, sp_check_client(L, 1)->closed);
	return 1;
}

/* client:new_domain() -> a number naming a new batch (see sp_call.domain) */
static int client_new_domain(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	if (++c->next_domain < 2)
		c->next_domain = 2;	/* wrapped around */
	lua_pushinteger(L, (lua_Integer)c->next_domain);
	return 1;
}

static int core_getpid(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)getpid());
	return 1;
}

LUALIB_API int luaopen_sendpulse_core(lua_State *L);

LUALIB_API int luaopen_sendpulse_core(lua_State *L)
{
	static const luaL_Reg client_methods[] = {
		{ "call", sp_call_open },
		{ "batch_open", sp_batch_open },
		{ "new_domain", client_new_domain },
		{ "is_closed", client_is_closed },
		{ "close", client_close },
		{ "store_key", client_store_key },
		{ "endpoint", client_endpoint },
		{ "settings", client_settings },
		{ "token_state", client_token_state },
		{ NULL, NULL }
	};
	static const luaL_Reg funcs[] = {
		{ "new", core_new },
		{ "getpid", core_getpid },
		{ NULL, NULL }
	};
	const luaL_Reg *const areas[] = {
		funcs, sp_json_funcs, sp_url_funcs, sp_wire_funcs, sp_pacer_funcs,
		sp_file_funcs, sp_base64_funcs, sp_sha256_funcs
	};
	curl_version_info_data *v;
	size_t i;

	if (!sp_http_global_init())
		return luaL_error(L, "sendpulse: libcurl initialisation failed");

	luaL_newmetatable(L, SP_CLIENT_MT);
	lua_pushcfunction(L, client_close);
	lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
	lua_pushcfunction(L, client_close);
	lua_setfield(L, -2, "__close");
#endif
	lua_pushcfunction(L, client_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_createtable(L, 0, 8);
	sp_setfuncs(L, client_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	sp_call_register(L);
	sp_batch_register(L);

	lua_createtable(L, 0, 40);
	for (i = 0; i < sizeof areas / sizeof areas[0]; i++)
		sp_setfuncs(L, areas[i], 0);
	lua_pushliteral(L, SP_VERSION);
	lua_setfield(L, -2, "_VERSION");
	lua_pushlightuserdata(L, NULL);	/* same value as cjson.null */
	lua_setfield(L, -2, "null");
	luaL_newmetatable(L, SP_ARRAY_MT);
	lua_pushliteral(L, "sendpulse.array");
	lua_setfield(L, -2, "__name");
	lua_setfield(L, -2, "array_mt");
	sp_errors_register(L);
	sp_failure_codes_register(L);
	sp_redis_register(L);
	luaL_getmetatable(L, SP_CALL_MT);	/* for drivers: call.run ... */
	lua_getfield(L, -1, "__index");
	lua_setfield(L, -3, "call_methods");
	lua_pop(L, 1);
	v = curl_version_info(CURLVERSION_NOW);
	lua_pushstring(L, v && v->version ? v->version : "unknown");
	lua_setfield(L, -2, "curl_version");
	return 1;
}
