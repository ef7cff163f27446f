/***
 * The C core of lua-sendpulse: the client object (options, credentials,
 * token state, libcurl handles), calls as state machines, JSON, errors,
 * URL encoding and the pacer's arithmetic. Most users want the Lua front,
 * `require "sendpulse"`; this module is what it is built on.
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
 * Options
 * ====================================================================== */

static void opt_fail(lua_State *L, const char *name, const char *what)
{
	luaL_error(L, "sendpulse.new: option '%s' %s", name, what);
}

static void opt_type(lua_State *L, const char *name, const char *want)
{
	luaL_error(L, "sendpulse.new: option '%s' must be %s (got %s)", name,
		want, luaL_typename(L, -1));
}

/* A string option that may go into a header or a file name. */
static void opt_string(lua_State *L, const char *name, sp_buf *dst,
	int allow_empty)
{
	size_t n;
	const char *s, *why;
	if (lua_type(L, -1) != LUA_TSTRING)
		opt_type(L, name, "a string");
	s = lua_tolstring(L, -1, &n);
	if (n == 0 && !allow_empty)
		opt_fail(L, name, "must not be empty");
	if (n > 4096)
		opt_fail(L, name, "is too long");
	if ((why = sp_check_header_value(s, n)) != NULL)
		opt_fail(L, name, why);
	if (!sp_buf_set(dst, s, n))
		luaL_error(L, "out of memory");
}

static double opt_number(lua_State *L, const char *name, double lo,
	double hi, int lo_open)
{
	double v;
	char want[96];
	if (lua_type(L, -1) != LUA_TNUMBER)
		opt_type(L, name, "a number");
	v = (double)lua_tonumber(L, -1);
	if (!(v == v) || (lo_open ? v <= lo : v < lo) || v > hi) {
		snprintf(want, sizeof want, "must be a number %s %g and at most %g",
			lo_open ? "above" : "of at least", lo, hi);
		opt_fail(L, name, want);
	}
	return v;
}

static long long opt_integer(lua_State *L, const char *name, double lo,
	double hi)
{
	double v = opt_number(L, name, lo, hi, 0);
	if (v != floor(v))
		opt_fail(L, name, "must be an integer");
	return (long long)v;
}

static void parse_options(lua_State *L, sp_client *c, int opts)
{
	static const char *const known[] = {
		"client_id", "client_secret", "api_key", "base_url", "timeout",
		"connect_timeout", "ca_file", "ssl_verify", "proxy",
		"user_agent", "max_retries", "rate_limit", "retry_delay",
		"max_retry_wait", "max_body_size", NULL
	};
	int has_id = 0, has_secret = 0, has_key = 0, i;
	double rate = 10;
	const char *why;

	/* defaults */
	c->timeout = 30;
	c->connect_timeout = 10;
	c->ssl_verify = 1;
	c->max_retries = 2;
	c->retry_delay = 0.5;
	c->max_retry_wait = 60;
	c->max_body_size = 32u << 20;

	lua_pushnil(L);
	while (lua_next(L, opts)) {
		const char *name;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sendpulse.new: option names must be strings");
		name = lua_tostring(L, -2);
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], name) == 0)
				break;
		switch (i) {
		case 0:
			opt_string(L, name, &c->client_id, 0);
			if (!sp_utf8_valid(c->client_id.data, c->client_id.len))
				opt_fail(L, name, "is not valid UTF-8");
			has_id = 1;
			break;
		case 1:
			opt_string(L, name, &c->client_secret, 0);
			if (!sp_utf8_valid(c->client_secret.data,
					c->client_secret.len))
				opt_fail(L, name, "is not valid UTF-8");
			has_secret = 1;
			break;
		case 2:
			opt_string(L, name, &c->api_key, 0);
			if (!sp_token_acceptable(c->api_key.data, c->api_key.len))
				opt_fail(L, name, "must be printable ASCII without "
					"spaces");
			has_key = 1;
			break;
		case 3: {
			size_t n;
			const char *s;
			if (lua_type(L, -1) != LUA_TSTRING)
				opt_type(L, name, "a string");
			s = lua_tolstring(L, -1, &n);
			if ((why = sp_parse_base_url(c, s, n)) != NULL)
				opt_fail(L, name, why);
			break;
		}
		case 4:
			c->timeout = opt_number(L, name, 0, 86400, 1);
			break;
		case 5:
			c->connect_timeout = opt_number(L, name, 0, 86400, 1);
			break;
		case 6:
			opt_string(L, name, &c->ca_file, 0);
			if (access(c->ca_file.data, R_OK) != 0)
				opt_fail(L, name, "names a file that cannot be read");
			break;
		case 7:
			if (lua_type(L, -1) != LUA_TBOOLEAN)
				opt_type(L, name, "a boolean");
			c->ssl_verify = lua_toboolean(L, -1);
			break;
		case 8:
			opt_string(L, name, &c->proxy, 0);
			break;
		case 9:
			opt_string(L, name, &c->user_agent, 0);
			break;
		case 10:
			c->max_retries = (int)opt_integer(L, name, 0, 10);
			break;
		case 11:
			if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
				rate = 0;
			else if (lua_type(L, -1) != LUA_TNUMBER)
				opt_type(L, name, "a number or false");
			else
				rate = opt_number(L, name, 0, 10000, 1);
			break;
		case 12:
			c->retry_delay = opt_number(L, name, 0, 60, 0);
			break;
		case 13:
			c->max_retry_wait = opt_number(L, name, 0, 3600, 0);
			break;
		case 14:
			c->max_body_size = (size_t)opt_integer(L, name, 1024,
				(double)(1u << 30) * 4);
			break;
		default:
			luaL_error(L, "sendpulse.new: unknown option '%s'", name);
		}
		lua_pop(L, 1);
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
	if (!sp_pacer_init(c, rate))
		luaL_error(L, "out of memory");
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
	free(c->pace_ring);
	c->pace_ring = NULL;
	c->pace_cap = 0;
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

	parse_options(L, c, 1);
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "store");
		c->has_store = c->oauth && lua_toboolean(L, -1);
		lua_getfield(L, 2, "pacer");
		c->shared_pacer = c->pace_cap > 0 && lua_toboolean(L, -1);
		lua_pop(L, 2);
	}
	if (!sp_token_init(c))
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
	lua_createtable(L, 0, 8);
	lua_pushnumber(L, c->timeout);
	lua_setfield(L, -2, "timeout");
	lua_pushnumber(L, c->connect_timeout);
	lua_setfield(L, -2, "connect_timeout");
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
	if (c->pace_cap) {
		lua_pushinteger(L, c->pace_cap);
		lua_setfield(L, -2, "pace_cap");
		lua_pushnumber(L, c->pace_window);
		lua_setfield(L, -2, "pace_window");
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

/* ======================================================================
 * Module functions
 * ====================================================================== */

/***
 * Decodes JSON text, keeping integers as integers (5.3+).
 * @function json_decode
 * @tparam string text
 * @tparam[opt] integer maxdepth nesting limit (default 512)
 * @return the value, or nil and a message
 */
static int core_json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	int depth = (int)luaL_optinteger(L, 2, SP_JSON_MAXDEPTH);
	char err[160];
	if (sp_json_decode(L, s, n, depth, err, sizeof err))
		return 1;
	lua_pushnil(L);
	lua_pushstring(L, err);
	return 2;
}

/* A userdata-owned buffer: freed by __gc even if encoding raises. */
static int scratch_gc(lua_State *L)
{
	sp_buf *b = lua_touserdata(L, 1);
	sp_buf_free(b);
	return 0;
}

static sp_buf *push_scratch(lua_State *L)
{
	sp_buf *b = (sp_buf *)lua_newuserdata(L, sizeof *b);
	memset(b, 0, sizeof *b);
	if (luaL_newmetatable(L, "sendpulse.scratch")) {
		lua_pushcfunction(L, scratch_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return b;
}

/***
 * Encodes a Lua value as JSON.
 * @function json_encode
 * @param value
 * @treturn string
 * @raise on values JSON cannot represent (functions, NaN, mixed tables...)
 */
static int core_json_encode(lua_State *L)
{
	sp_buf *b;
	char err[256];
	luaL_checkany(L, 1);
	b = push_scratch(L);
	if (!sp_json_encode(L, 1, b, "value", err, sizeof err))
		return luaL_error(L, "sendpulse: %s", err);
	lua_pushlstring(L, b->data ? b->data : "", b->len);
	return 1;
}

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
	b = push_scratch(L);
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
	b = push_scratch(L);
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

/***
 * The pacer's arithmetic on a serialised ring, for pacers that keep their
 * state outside this process (an nginx shared dict).
 * @function pacer_reserve
 * @tparam string|nil state the previous state (nil: empty)
 * @tparam integer cap requests per window
 * @tparam number window seconds
 * @tparam number now a clock shared by every user of the state
 * @return the new state and the delay before sending
 */
static int core_pacer_reserve(lua_State *L)
{
	size_t n;
	const char *state = luaL_optlstring(L, 1, NULL, &n);
	lua_Integer cap = luaL_checkinteger(L, 2);
	double window = (double)luaL_checknumber(L, 3);
	double now = (double)luaL_checknumber(L, 4), delay, *ring;
	size_t need;
	int head = 0, i;

	luaL_argcheck(L, cap >= 1 && cap <= 10000, 2, "out of range");
	need = sizeof(double) * (size_t)cap + sizeof(int);
	ring = (double *)lua_newuserdata(L, need);
	if (state && n == need) {
		memcpy(ring, state, sizeof(double) * (size_t)cap);
		memcpy(&head, state + sizeof(double) * (size_t)cap, sizeof head);
		if (head < 0 || head >= cap)
			head = 0;
	} else {
		for (i = 0; i < cap; i++)
			ring[i] = -HUGE_VAL;
	}
	delay = sp_pacer_reserve(ring, (int)cap, &head, window, now);
	memcpy((char *)ring + sizeof(double) * (size_t)cap, &head, sizeof head);
	lua_pushlstring(L, (const char *)ring, need);
	lua_pushnumber(L, delay);
	return 2;
}

/***
 * The pacer's shape for a rate: requests per window, window seconds.
 * @function pacer_shape
 */
static int core_pacer_shape(lua_State *L)
{
	double rate = (double)luaL_checknumber(L, 1), window;
	int cap;
	luaL_argcheck(L, rate > 0, 1, "must be positive");
	sp_pacer_shape(rate, &cap, &window);
	lua_pushinteger(L, cap);
	lua_pushnumber(L, window);
	return 2;
}

static int core_monotime(lua_State *L)
{
	lua_pushnumber(L, sp_monotime());
	return 1;
}

static int core_walltime(lua_State *L)
{
	lua_pushnumber(L, sp_walltime());
	return 1;
}

static int core_getpid(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)getpid());
	return 1;
}

static int core_sleep(lua_State *L)
{
	sp_sleep((double)luaL_checknumber(L, 1));
	return 0;
}

static int core_sha256_hex(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	char hex[65];
	sp_sha256_hex(s, n, hex);
	lua_pushstring(L, hex);
	return 1;
}

static int core_client_call(lua_State *L)
{
	return sp_call_open(L);
}

/* client:poll(timeout) -> keys of the calls whose transfer finished */
static int client_poll(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	double timeout = (double)luaL_optnumber(L, 2, 0);
	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	return sp_http_poll(L, c, timeout);
}

LUALIB_API int luaopen_sendpulse_core(lua_State *L);

LUALIB_API int luaopen_sendpulse_core(lua_State *L)
{
	static const luaL_Reg client_methods[] = {
		{ "call", core_client_call },
		{ "start", sp_call_start },
		{ "poll", client_poll },
		{ "close", client_close },
		{ "store_key", client_store_key },
		{ "endpoint", client_endpoint },
		{ "settings", client_settings },
		{ "token_state", client_token_state },
		{ NULL, NULL }
	};
	static const luaL_Reg funcs[] = {
		{ "new", core_new },
		{ "json_decode", core_json_decode },
		{ "json_encode", core_json_encode },
		{ "escape_segment", core_escape_segment },
		{ "encode_query", core_encode_query },
		{ "check_path", core_check_path },
		{ "parse_head", core_parse_head },
		{ "retry_after", core_retry_after },
		{ "pacer_reserve", core_pacer_reserve },
		{ "pacer_shape", core_pacer_shape },
		{ "monotime", core_monotime },
		{ "walltime", core_walltime },
		{ "sleep", core_sleep },
		{ "getpid", core_getpid },
		{ "sha256_hex", core_sha256_hex },
		{ "base64_encode", sp_base64_encode },
		{ "base64_decode", sp_base64_decode },
		{ "write_private_file", sp_write_private_file },
		{ "make_private_dir", sp_make_private_dir },
		{ NULL, NULL }
	};
	curl_version_info_data *v;

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

	lua_createtable(L, 0, 32);
	sp_setfuncs(L, funcs, 0);
	lua_pushliteral(L, SP_VERSION);
	lua_setfield(L, -2, "_VERSION");
	lua_pushlightuserdata(L, NULL);	/* same value as cjson.null */
	lua_setfield(L, -2, "null");
	luaL_newmetatable(L, SP_ARRAY_MT);
	lua_pushliteral(L, "sendpulse.array");
	lua_setfield(L, -2, "__name");
	lua_setfield(L, -2, "array_mt");
	sp_errors_register(L);
	sp_redis_register(L);
	v = curl_version_info(CURLVERSION_NOW);
	lua_pushstring(L, v && v->version ? v->version : "unknown");
	lua_setfield(L, -2, "curl_version");
	return 1;
}
