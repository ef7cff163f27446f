/*
 * fuzz_call: the call state machine (call.c) driven the way engine.lua
 * drives it, with every server answer and token-store answer taken from
 * the input. Exercises error translation, token parsing, retries, the 401
 * refresh and the store hand-offs end to end through the module's own Lua
 * API (core.new, client:call, call:next/set_response/set_failure/wire).
 *
 * Input: a config line, then one line per answer, consumed in order.
 *   config: "<O|K> <store 0|1> <max_retries 0-3> <G|P|U|A|D>"
 *           (O: client_id/client_secret, K: api_key)
 *   "send":  "<status> <Retry-After|-> <body>"  or  "F <curl code> <sent 0|1> <msg>"
 *   "get":   "<token> <seconds to expiry>"  (empty line: nothing stored)
 *   "lock":  "1" or "0"
 * When the lines run out, a send fails to connect and the store is empty.
 *
 * An input starting with "I" instead checks that client:call() with
 * inline_io left out does not do the I/O itself [id call_inline_default].
 *
 * Checks: the call ends ("done" or "fail") within a bounded number of
 * requests [id call_unbounded]; sleeps are finite and >= 0; "done" gives a
 * decoded JSON value (true for 204/205) and "fail" a well-formed error
 * whose text never holds the client secret or API key [id secret_leak];
 * every request on the wire is framed right (request line, header end,
 * Content-Length); the store is only ever given acceptable tokens; a
 * finished call refuses to go on; closing the client frees everything.
 */
#include "fuzz_common.h"

#include <math.h>

#define SECRET "Cl1ent/Secret+Value="
#define APIKEY "ApiKey-0123456789abcdef"

typedef struct {
	const uint8_t *d;
	size_t n;
} ctx;

static void check_wire(lua_State *L, int call, int *is_token)
{
	size_t n;
	const char *w, *end, *cl;
	lua_getfield(L, call, "wire");
	lua_pushvalue(L, call);
	lua_call(L, 1, 1);
	w = lua_tolstring(L, -1, &n);
	FZ_CHECK(w != NULL, "call:wire() gave no string");
	end = memmem(w, n, "\r\n\r\n", 4);
	FZ_CHECK(end != NULL, "request without the end of its head");
	FZ_CHECK(memchr(w, '\0', n) == NULL ||
		(const char *)memchr(w, '\0', n) > end,
		"NUL in the request head");
	{
		const char *eol = memmem(w, n, "\r\n", 2);
		FZ_CHECK(eol && eol - w > 9 && memcmp(eol - 9, " HTTP/1.1", 9) == 0,
			"request line");
		*is_token = memmem(w, (size_t)(eol - w), "/oauth/access_token",
			19) != NULL;
	}
	cl = memmem(w, (size_t)(end - w), "\r\nContent-Length: ", 18);
	if (cl) {
		long len = strtol(cl + 18, NULL, 10);
		FZ_CHECK(len >= 0 && (size_t)len == n - (size_t)(end + 4 - w),
			"Content-Length %ld for a body of %lu", len,
			(unsigned long)(n - (size_t)(end + 4 - w)));
	} else {
		FZ_CHECK(end + 4 == w + n, "a body without Content-Length");
	}
	if (*is_token)
		FZ_CHECK(memmem(w, n, "Authorization:", 14) == NULL,
			"the token request carries an Authorization header");
	else
		FZ_CHECK(memmem(w, n, "\r\nAuthorization: Bearer ", 24) != NULL,
			"an API request without Authorization");
	lua_pop(L, 1);
}

/* The client's own credential: the client secret or the API key. */
static const char *cred;

static void no_secret(const char *what, const char *s, size_t n)
{
	FZ_CHECK_ID("secret_leak", !fz_contains(s, n, cred, strlen(cred)),
		"%s holds the client's credential %s", what, cred);
}

static void check_fail(lua_State *L, int err)
{
	static const char *const fields[] = { "message", "body", "path", NULL };
	const char *s;
	size_t n;
	int i, ok = 0;

	FZ_CHECK(lua_istable(L, err), "fail without an error table");
	FZ_CHECK(lua_getmetatable(L, err), "error without metatable");
	luaL_getmetatable(L, SP_ERROR_MT);
	FZ_CHECK(lua_rawequal(L, -1, -2), "not a sendpulse.Error");
	lua_pop(L, 2);
	lua_getfield(L, err, "kind");
	s = lua_tostring(L, -1);
	for (i = 0; s && i <= SP_KIND_DECODE; i++)
		if (strcmp(s, sp_kind_names[i]) == 0)
			ok = 1;
	FZ_CHECK(ok, "error kind %s", s ? s : "(none)");
	lua_pop(L, 1);
	for (i = 0; fields[i]; i++) {
		lua_getfield(L, err, fields[i]);
		if (lua_type(L, -1) == LUA_TSTRING) {
			s = lua_tolstring(L, -1, &n);
			no_secret(fields[i], s, n);
		}
		lua_pop(L, 1);
	}
	s = luaL_tolstring(L, err, &n);
	FZ_CHECK(!memchr(s, '\n', n) && !memchr(s, '\r', n), "multi-line "
		"tostring(err)");
	no_secret("tostring(err)", s, n);
	lua_pop(L, 1);
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	const uint8_t *d = x->d;
	size_t n = x->n, ln;
	const char *line;
	int oauth = 1, store = 0, retries = 2, method = 0, client, call;
	int steps, sends = 0, limit, is_token = 0, nargs = 0, finished = 0;
	const char *m;

	fz_cut(&d, &n, '\n', &line, &ln);
	if (ln >= 1 && line[0] == 'K')
		oauth = 0;
	if (ln >= 3)
		store = line[2] == '1';
	if (ln >= 5 && line[4] >= '0' && line[4] <= '3')
		retries = line[4] - '0';
	if (ln >= 7 && (m = strchr("GPUAD", line[6])) && line[6])
		method = (int)(m - "GPUAD");
	/* every send but the last may be answered with a retry or a 401
	 * refresh, each preceded by at most two token fetches */
	limit = 4 * (retries + 2);
	cred = oauth ? SECRET : APIKEY;

	lua_getglobal(L, "package");
	lua_getfield(L, -1, "loaded");
	lua_getfield(L, -1, "sendpulse.core");
	lua_getfield(L, -1, "new");
	lua_createtable(L, 0, 8);
	if (oauth) {
		lua_pushliteral(L, "fuzz-client-id");
		lua_setfield(L, -2, "client_id");
		lua_pushliteral(L, SECRET);
		lua_setfield(L, -2, "client_secret");
	} else {
		lua_pushliteral(L, APIKEY);
		lua_setfield(L, -2, "api_key");
	}
	lua_pushliteral(L, "http://127.0.0.1:9/api");
	lua_setfield(L, -2, "base_url");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "rate_limit");
	lua_pushinteger(L, retries);
	lua_setfield(L, -2, "max_retries");
	lua_pushnumber(L, 0.01);
	lua_setfield(L, -2, "retry_delay");
	lua_createtable(L, 0, 1);
	lua_pushboolean(L, store);
	lua_setfield(L, -2, "store");
	lua_call(L, 2, 1);
	client = lua_gettop(L);

	lua_getfield(L, client, "call");
	lua_pushvalue(L, client);
	lua_pushstring(L, sp_method_names[method]);
	lua_pushliteral(L, "/addressbooks/42");
	lua_createtable(L, 0, 1);
	lua_pushinteger(L, 10);
	lua_setfield(L, -2, "limit");
	if (method == SP_POST || method == SP_PUT || method == SP_PATCH) {
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "x");
		lua_setfield(L, -2, "name");
	} else {
		lua_pushnil(L);
	}
	lua_pushboolean(L, 0);	/* no inline I/O: we answer the sends */
	lua_call(L, 6, 1);
	call = lua_gettop(L);

	for (steps = 0; steps < 10 * limit + 50 && !finished; steps++) {
		const char *action;
		int top;
		lua_getfield(L, call, "next");
		lua_insert(L, -(nargs + 1));
		lua_pushvalue(L, call);
		lua_insert(L, -(nargs + 1));
		top = lua_gettop(L) - nargs - 2;
		lua_call(L, nargs + 1, LUA_MULTRET);
		nargs = 0;
		action = lua_tostring(L, top + 1);
		FZ_CHECK(action != NULL, "call:next() gave no action");
		if (strcmp(action, "done") == 0) {
			/* any JSON value; true for 204/205 */
			FZ_CHECK(!lua_isnoneornil(L, top + 2) &&
				lua_type(L, top + 2) != LUA_TFUNCTION &&
				lua_type(L, top + 2) != LUA_TUSERDATA,
				"done with a %s", luaL_typename(L, top + 2));
			finished = 1;
		} else if (strcmp(action, "fail") == 0) {
			check_fail(L, top + 2);
			finished = 1;
		} else if (strcmp(action, "send") == 0) {
			sends++;
			FZ_CHECK_ID("call_unbounded", sends <= limit, "%d requests "
				"for one call with max_retries=%d and no end in "
				"sight", sends, retries);
			check_wire(L, call, &is_token);
			fz_cut(&d, &n, '\n', &line, &ln);
			if (line == NULL || (ln == 0 && n == 0)) {
				lua_getfield(L, call, "set_failure");
				lua_pushvalue(L, call);
				lua_pushinteger(L, 7);
				lua_pushliteral(L, "connection refused");
				lua_pushboolean(L, 0);
				lua_call(L, 4, 0);
			} else if (ln >= 1 && line[0] == 'F') {
				char tmp[16];
				long code;
				size_t k = ln - 1 < sizeof tmp - 1 ? ln - 1 : sizeof tmp - 1;
				memcpy(tmp, line + 1, k);
				tmp[k] = '\0';
				code = strtol(tmp, NULL, 10);
				if (code <= 0 || code > 99)
					code = 28;
				lua_getfield(L, call, "set_failure");
				lua_pushvalue(L, call);
				lua_pushinteger(L, code);
				lua_pushlstring(L, line, ln);
				lua_pushboolean(L, memchr(line, '1', ln) != NULL);
				lua_call(L, 4, 0);
			} else {
				const uint8_t *ld = (const uint8_t *)line;
				size_t lsz = ln, sn, rn;
				const char *st, *ra;
				char tmp[16];
				long status;
				fz_cut(&ld, &lsz, ' ', &st, &sn);
				fz_cut(&ld, &lsz, ' ', &ra, &rn);
				memcpy(tmp, st, sn < 15 ? sn : 15);
				tmp[sn < 15 ? sn : 15] = '\0';
				status = strtol(tmp, NULL, 10);
				if (status < 100 || status > 999)
					status = 200;
				lua_getfield(L, call, "set_response");
				lua_pushvalue(L, call);
				lua_pushinteger(L, status);
				lua_pushlstring(L, (const char *)ld, lsz);
				if (rn == 0 || (rn == 1 && ra[0] == '-'))
					lua_pushnil(L);
				else
					lua_pushlstring(L, ra, rn);
				lua_call(L, 4, 0);
			}
		} else if (strcmp(action, "sleep") == 0 ||
				strcmp(action, "wait") == 0) {
			lua_Number s = lua_tonumber(L, top + 2);
			FZ_CHECK(lua_type(L, top + 2) == LUA_TNUMBER && s >= 0 &&
				isfinite(s) && s <= 3600, "%s for %g s", action, s);
		} else if (strcmp(action, "get") == 0) {
			FZ_CHECK(store, "a store action without a store");
			fz_cut(&d, &n, '\n', &line, &ln);
			if (ln) {
				const uint8_t *ld = (const uint8_t *)line;
				size_t lsz = ln, tn;
				const char *tok;
				char tmp[40];
				size_t k;
				fz_cut(&ld, &lsz, ' ', &tok, &tn);
				k = lsz < sizeof tmp - 1 ? lsz : sizeof tmp - 1;
				memcpy(tmp, ld, k);
				tmp[k] = '\0';
				lua_settop(L, top);
				lua_pushlstring(L, tok, tn);
				lua_pushnumber(L, sp_walltime() + strtod(tmp, NULL));
				nargs = 2;
				continue;
			}
		} else if (strcmp(action, "lock") == 0) {
			FZ_CHECK(store, "a store action without a store");
			fz_cut(&d, &n, '\n', &line, &ln);
			lua_settop(L, top);
			lua_pushboolean(L, ln > 0 && line[0] == '1');
			nargs = 1;
			continue;
		} else if (strcmp(action, "set") == 0) {
			size_t tn;
			const char *tok = lua_tolstring(L, top + 3, &tn);
			FZ_CHECK(store && tok && sp_token_acceptable(tok, tn) &&
				lua_type(L, top + 4) == LUA_TNUMBER,
				"store:set with an unacceptable token");
		} else if (strcmp(action, "delete") == 0 ||
				strcmp(action, "unlock") == 0) {
			FZ_CHECK(store, "a store action without a store");
		} else {
			FZ_FAIL("unexpected action %s", action);
		}
		lua_settop(L, top);
	}
	FZ_CHECK_ID("call_unbounded", finished, "the call did not end in %d "
		"steps", steps);
	(void)is_token;

	/* a finished call refuses to go on */
	lua_getfield(L, call, "next");
	lua_pushvalue(L, call);
	FZ_CHECK(lua_pcall(L, 1, 0, 0) != LUA_OK, "a finished call went on");
	lua_pop(L, 1);

	lua_getfield(L, client, "close");
	lua_pushvalue(L, client);
	lua_call(L, 1, 0);
	return 0;
}

/*
 * Input "I...": client:call(method, path, query, body) -- inline_io left
 * out, as its documentation allows -- must not do I/O itself: its first
 * step on an OAuth client without a token is to hand the token request
 * back ("send"). (When it fails it connects to 127.0.0.1:9, which is
 * refused at once.)
 */
static int probe_inline_default(lua_State *L, void *ud)
{
	const char *action;
	(void)ud;
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "loaded");
	lua_getfield(L, -1, "sendpulse.core");
	lua_getfield(L, -1, "new");
	lua_createtable(L, 0, 4);
	lua_pushliteral(L, "id");
	lua_setfield(L, -2, "client_id");
	lua_pushliteral(L, SECRET);
	lua_setfield(L, -2, "client_secret");
	lua_pushliteral(L, "http://127.0.0.1:9");
	lua_setfield(L, -2, "base_url");
	lua_pushinteger(L, 0);
	lua_setfield(L, -2, "max_retries");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "call");
	lua_pushvalue(L, -2);
	lua_pushliteral(L, "GET");
	lua_pushliteral(L, "/user/info");
	lua_pushnil(L);
	lua_pushnil(L);
	lua_call(L, 5, 1);
	lua_getfield(L, -1, "next");
	lua_pushvalue(L, -2);
	lua_call(L, 1, 2);
	action = lua_tostring(L, -2);
	FZ_CHECK_ID("call_inline_default", action && strcmp(action, "send") == 0,
		"client:call(method, path, query, body) without inline_io did the "
		"I/O itself (first action: %s%s%s): sp_call_open reads argument 6 "
		"after pushing the new call there",
		action ? action : "(none)", lua_istable(L, -1) ? ", " : "",
		lua_istable(L, -1) ? luaL_tolstring(L, -1, NULL) : "");
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx x;
	int st;
	if (n >= 1 && d[0] == 'I') {
		if (mode == FZ_ALLOC_COUNT) {
			st = fz_pcall(L, probe_inline_default, NULL, FZ_ALLOC_PLAIN,
				0, NULL);
			fz_expect_status(st, FZ_ALLOC_COUNT, "inline_io probe");
		}
		if (count)
			*count = 0;
		return;
	}
	x.d = d;
	x.n = n;
	st = fz_pcall(L, body, &x, mode, at, count);
	/* under allocation failure a memory error may surface as the error
	 * object of another error (a raise inside __gc or a handler) */
	if (st != LUA_OK && mode != FZ_ALLOC_COUNT)
		return;
	fz_expect_status(st, mode, "call state machine");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
