/*
 * fuzz_call: the call state machine (call.c) driven as the transports
 * drive it, with every server answer and token-store answer taken from
 * the input. Exercises error translation, token parsing, retries, the 401
 * refresh and the store hand-offs end to end through the module's own Lua
 * API (core.new, client:call, call:run/next/set_response/set_failure/wire).
 *
 * By default the call runs on the inline driver (drive.c, call:run()),
 * the very loop a plain libcurl call runs, with the client's sp_io
 * replaced by this file's: its "perform" answers from the input, its
 * "sleep" only checks the delay. With "N" in the config the call is
 * stepped with call:next() instead and answered through call:set_response
 * and call:set_failure, as the Lua transports do.
 *
 * Input: a config line, then one line per answer, consumed in order.
 *   config: "<O|K> <store 0|1> <max_retries 0-3> <G|P|U|A|D> [N]"
 *           (O: client_id/client_secret, K: api_key)
 *   "send":  "<status> <Retry-After|-> <body>"  or  "F <curl code> <sent 0|1> <msg>"
 *   "get":   "<token> <seconds to expiry>"  (empty line: nothing stored)
 *   "lock":  "1" or "0"
 * When the lines run out, a send fails to connect and the store is empty.
 *
 * An input starting with "I" instead checks that call:next() does no I/O
 * itself [id call_inline_default].
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
	int sends, limit, retries;
} ctx;

/* One server answer from the input: a response, or a transport failure
 * (code, sent); no line left: the connection is refused. */
typedef struct {
	int failure, sent, status;
	const char *body, *ra;
	size_t bodyn, ran;
	const char *msg;
	size_t msgn;
} answer;

static void next_answer(ctx *x, answer *a)
{
	const char *line;
	size_t ln;
	memset(a, 0, sizeof *a);
	fz_cut(&x->d, &x->n, '\n', &line, &ln);
	if (line == NULL || (ln == 0 && x->n == 0)) {
		a->failure = 7;
		a->msg = "connection refused";
		a->msgn = strlen(a->msg);
	} else if (ln >= 1 && line[0] == 'F') {
		char tmp[16];
		long code;
		size_t k = ln - 1 < sizeof tmp - 1 ? ln - 1 : sizeof tmp - 1;
		memcpy(tmp, line + 1, k);
		tmp[k] = '\0';
		code = strtol(tmp, NULL, 10);
		if (code <= 0 || code > 99)
			code = 28;
		a->failure = (int)code;
		a->msg = line;
		a->msgn = ln;
		a->sent = memchr(line, '1', ln) != NULL;
	} else {
		const uint8_t *ld = (const uint8_t *)line;
		size_t lsz = ln, sn;
		const char *st;
		char tmp[16];
		long status;
		fz_cut(&ld, &lsz, ' ', &st, &sn);
		fz_cut(&ld, &lsz, ' ', &a->ra, &a->ran);
		memcpy(tmp, st, sn < 15 ? sn : 15);
		tmp[sn < 15 ? sn : 15] = '\0';
		status = strtol(tmp, NULL, 10);
		if (status < 100 || status > 999)
			status = 200;
		a->status = (int)status;
		a->body = (const char *)ld;
		a->bodyn = lsz;
		if (a->ran == 0 || (a->ran == 1 && a->ra[0] == '-'))
			a->ra = NULL;
	}
}

static void check_wire_bytes(const char *w, size_t n, int *is_token)
{
	const char *end, *cl;
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
}

static void check_wire(lua_State *L, int call, int *is_token)
{
	size_t n;
	const char *w;
	lua_getfield(L, call, "wire");
	lua_pushvalue(L, call);
	lua_call(L, 1, 1);
	w = lua_tolstring(L, -1, &n);
	check_wire_bytes(w, n, is_token);
	lua_pop(L, 1);
}

static void count_send(ctx *x)
{
	x->sends++;
	FZ_CHECK_ID("call_unbounded", x->sends <= x->limit, "%d requests for "
		"one call with max_retries=%d and no end in sight", x->sends,
		x->retries);
}

/* The inline driver's "perform": the request is checked on the wire, the
 * answer comes from the input, as call:set_response/set_failure would
 * record it. */
static void fz_perform(sp_client *c, sp_call *k, void *ud)
{
	ctx *x = ud;
	answer a;
	char err[160];
	int is_token;
	(void)c;
	count_send(x);
	FZ_CHECK(sp_wire_request(k, err, sizeof err), "wire: %s", err);
	check_wire_bytes(k->wire.data, k->wire.len, &is_token);
	sp_buf_wipe(&k->wire);
	next_answer(x, &a);
	k->status = 0;
	k->failure = 0;
	k->sent = 0;
	k->retry_after = -1;
	k->ebody_read = 0;
	sp_buf_clear(&k->resp);
	sp_buf_clear(&k->errmsg);
	if (a.failure) {
		k->failure = a.failure;
		k->sent = a.sent;
		sp_buf_set(&k->errmsg, a.msg, a.msgn);
	} else {
		k->status = a.status;
		k->sent = 1;
		sp_buf_set(&k->resp, a.body, a.bodyn);
		if (a.ra)
			k->retry_after = sp_parse_retry_after(a.ra, a.ran,
				sp_walltime());
	}
}

static void fz_sleep(double seconds, void *ud)
{
	(void)ud;
	FZ_CHECK(seconds >= 0 && isfinite(seconds) && seconds <= 3600,
		"sleep for %g s", seconds);
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
	size_t ln;
	const char *line;
	int oauth = 1, store = 0, retries = 2, method = 0, client, call;
	int steps, nargs = 0, finished = 0, stepwise = 0, is_token = 0;
	const char *m;

	fz_cut(&x->d, &x->n, '\n', &line, &ln);
	if (ln >= 1 && line[0] == 'K')
		oauth = 0;
	if (ln >= 3)
		store = line[2] == '1';
	if (ln >= 5 && line[4] >= '0' && line[4] <= '3')
		retries = line[4] - '0';
	if (ln >= 7 && (m = strchr("GPUAD", line[6])) && line[6])
		method = (int)(m - "GPUAD");
	stepwise = ln >= 9 && line[8] == 'N';
	/* every send but the last may be answered with a retry or a 401
	 * refresh, each preceded by at most two token fetches */
	x->limit = 4 * (retries + 2);
	x->retries = retries;
	x->sends = 0;
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
	{
		sp_client *c = sp_check_client(L, client);
		c->io.perform = fz_perform;
		c->io.sleep = fz_sleep;
		c->io.ud = x;
	}

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
	lua_call(L, 5, 1);
	call = lua_gettop(L);

	for (steps = 0; steps < 10 * x->limit + 50 && !finished; steps++) {
		const char *action;
		int top;
		lua_getfield(L, call, stepwise ? "next" : "run");
		lua_insert(L, -(nargs + 1));
		lua_pushvalue(L, call);
		lua_insert(L, -(nargs + 1));
		top = lua_gettop(L) - nargs - 2;
		lua_call(L, nargs + 1, LUA_MULTRET);
		nargs = 0;
		action = lua_tostring(L, top + 1);
		FZ_CHECK(action != NULL, "the call gave no action");
		if (strcmp(action, "done") == 0) {
			/* any JSON value but false; true for 204/205 */
			FZ_CHECK(!lua_isnoneornil(L, top + 2) &&
				lua_type(L, top + 2) != LUA_TFUNCTION &&
				lua_type(L, top + 2) != LUA_TUSERDATA &&
				!(lua_type(L, top + 2) == LUA_TBOOLEAN &&
				  !lua_toboolean(L, top + 2)),
				"done with a %s", luaL_typename(L, top + 2));
			finished = 1;
		} else if (strcmp(action, "fail") == 0) {
			check_fail(L, top + 2);
			finished = 1;
		} else if (strcmp(action, "send") == 0) {
			answer a;
			FZ_CHECK(stepwise, "call:run() handed back a send");
			count_send(x);
			check_wire(L, call, &is_token);
			next_answer(x, &a);
			if (a.failure) {
				lua_getfield(L, call, "set_failure");
				lua_pushvalue(L, call);
				lua_pushinteger(L, a.failure);
				lua_pushlstring(L, a.msg, a.msgn);
				lua_pushboolean(L, a.sent);
				lua_call(L, 4, 0);
			} else {
				lua_getfield(L, call, "set_response");
				lua_pushvalue(L, call);
				lua_pushinteger(L, a.status);
				lua_pushlstring(L, a.body, a.bodyn);
				if (a.ra)
					lua_pushlstring(L, a.ra, a.ran);
				else
					lua_pushnil(L);
				lua_call(L, 4, 0);
			}
		} else if (strcmp(action, "sleep") == 0 ||
				strcmp(action, "wait") == 0) {
			lua_Number sec = lua_tonumber(L, top + 2);
			FZ_CHECK(stepwise, "call:run() handed back a %s", action);
			FZ_CHECK(lua_type(L, top + 2) == LUA_TNUMBER && sec >= 0 &&
				isfinite(sec) && sec <= 3600, "%s for %g s", action,
				sec);
		} else if (strcmp(action, "get") == 0) {
			FZ_CHECK(store, "a store action without a store");
			fz_cut(&x->d, &x->n, '\n', &line, &ln);
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
			fz_cut(&x->d, &x->n, '\n', &line, &ln);
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
		} else if (strcmp(action, "delete") == 0) {
			size_t tn;
			const char *tok = lua_tolstring(L, top + 3, &tn);
			FZ_CHECK(store, "a store action without a store");
			FZ_CHECK(tok && sp_token_acceptable(tok, tn),
				"store:delete without the token to compare");
		} else if (strcmp(action, "unlock") == 0) {
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
 * Input "I...": call:next() never does I/O itself: the first step of an
 * OAuth client without a token is to hand the token request back
 * ("send"), whatever the arguments. (Were it to connect, 127.0.0.1:9
 * refuses at once.)
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
		"call:next() did the I/O itself (first action: %s%s%s)",
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
