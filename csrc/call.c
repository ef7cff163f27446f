/*
 * call.c - one API call as a resumable state machine.
 *
 * call:next(...) returns the next thing to do, as an action name and its
 * arguments; the driver does it and passes the outcome to the following
 * call:next(...):
 *
 *   "send"               perform the request (call:wire() has its bytes),
 *                        then report with call:set_response/set_failure
 *   "sleep", seconds     wait (backoff, Retry-After, local pacing)
 *   "wait", seconds      another call of this client is fetching the
 *                        token; wait a little and ask again
 *   "pace", key          reserve a slot with the shared pacer and wait
 *   "get", key           store:get(key)          -> next(token, expires_at)
 *   "lock", key          store:lock(key)         -> next(locked)
 *   "set", key, tok, exp store:set(key, tok, exp)
 *   "delete", key        store:delete(key)
 *   "unlock", key        store:unlock(key)
 *   "done", result       the decoded response
 *   "fail", err          the error object
 *
 * A call created with inline I/O performs "send" (libcurl) and "sleep"
 * itself and only surfaces the store actions and the outcome: the plain
 * Lua path pays one C call per API call. Nothing here yields, so nginx
 * cosockets can do the I/O between two next() calls.
 *
 * Token rules: reuse the cached token until expiry less a leeway; at most
 * one fetch in flight per client (others "wait"); with a store, look there
 * first, then lock, look again, and only then fetch; on a 401 drop the
 * token and retry the call once with a new one; a failed fetch leaves
 * nothing behind, so the next call starts afresh.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

enum {
	ST_ACQUIRE,		/* make sure a usable token is at hand */
	ST_STORE_GET,		/* awaiting store:get */
	ST_STORE_DELETE,	/* awaiting store:delete of a rejected token */
	ST_LOCK,		/* awaiting store:lock */
	ST_RECHECK,		/* awaiting store:get under the lock */
	ST_PACED,		/* awaiting the shared pacer, then transmit */
	ST_PACE_WAIT,		/* waited for the local pacer: look again */
	ST_TOKEN_SENT,		/* awaiting the token response */
	ST_STORE_SET,		/* awaiting store:set of the new token */
	ST_UNLOCK,		/* awaiting store:unlock, then k->cont */
	ST_API_SENT,		/* awaiting the API response */
	ST_FINISHED
};

enum { CONT_SEND, CONT_FAIL, CONT_RETRY };

/* Longest wait for the fetching call before we assume it was abandoned. */
#define FETCH_SLACK 5.0
#define WAIT_STEP 0.005
#define BACKOFF_MAX 30.0

/* How a failed step should be reported when the call ends. */
enum { FAIL_RESPONSE, FAIL_TRANSPORT, FAIL_TOKEN_DECODE, FAIL_CLOSED,
	FAIL_TOKEN_LOOP };

typedef struct sp_call_ext {
	sp_call k;
	int inline_io;
	int fail_how;
	int fail_kind;		/* kind hint for FAIL_RESPONSE, -1: derive */
	const char *fail_why;
	double fail_retry_after;
} sp_call_ext;

sp_call *sp_check_call(lua_State *L, int idx)
{
	return (sp_call *)luaL_checkudata(L, idx, SP_CALL_MT);
}

static int idempotent(int method)
{
	return method == SP_GET || method == SP_PUT || method == SP_DELETE;
}

static void release_fetch(sp_client *c, sp_call *k)
{
	if (c->fetch_owner == k)
		c->fetch_owner = NULL;
}

static void reset_response(sp_call *k)
{
	k->status = 0;
	k->failure = 0;
	k->sent = 0;
	k->retry_after = -1;
	sp_buf_clear(&k->resp);
	sp_buf_clear(&k->errmsg);
}

static double backoff(sp_call *k)
{
	sp_client *c = k->client;
	double d = c->retry_delay * pow(2.0, k->retries) * sp_jitter(c);
	return d > BACKOFF_MAX ? BACKOFF_MAX : d;
}

/* Adopts the store's token at (tok, exp) if it is usable and not the one
 * a 401 just rejected. */
static int adopt(lua_State *L, sp_call *k, int tok, int exp)
{
	sp_client *c = k->client;
	const char *s;
	size_t n;
	double expires;

	if (lua_type(L, tok) != LUA_TSTRING || lua_type(L, exp) != LUA_TNUMBER)
		return 0;
	s = lua_tolstring(L, tok, &n);
	expires = (double)lua_tonumber(L, exp);
	if (!sp_token_acceptable(s, n))
		return 0;
	if (k->rejected.len == n && memcmp(k->rejected.data, s, n) == 0)
		return 0;
	if (c->token.len == n && memcmp(c->token.data, s, n) == 0 &&
			sp_token_usable(c, sp_walltime()))
		return 1;
	if (!sp_token_install(c, s, n, expires))
		return luaL_error(L, "out of memory");
	if (!sp_token_usable(c, sp_walltime())) {
		sp_token_drop(c);
		return 0;
	}
	return 1;
}

static int push_key(lua_State *L, sp_call *k, const char *action)
{
	lua_pushstring(L, action);
	lua_pushstring(L, k->client->store_key);
	return 2;
}

/* The response is in Lua now: its buffer can serve the next transfer
 * (saves growing a new one on every call). */
static void recycle_response(sp_call *k)
{
	sp_client *c = k->client;
	if (c && !c->closed && c->spare.cap == 0 && k->resp.cap <= 65536) {
		sp_buf_clear(&k->resp);
		sp_buf_swap(&c->spare, &k->resp);
	}
}

static int finish_done(lua_State *L, sp_call_ext *x)
{
	sp_call *k = &x->k;
	char err[128];

	k->state = ST_FINISHED;
	lua_pushliteral(L, "done");
	if (k->status == 204 || k->status == 205) {
		lua_pushboolean(L, 1);	/* success with no content by design */
		return 2;
	}
	if (sp_json_decode(L, k->resp.data ? k->resp.data : "", k->resp.len, 0,
			err, sizeof err)) {
		recycle_response(k);
		return 2;
	}
	lua_pop(L, 1);
	x->fail_how = FAIL_RESPONSE;
	x->fail_kind = SP_KIND_DECODE;
	return -1;	/* caller turns this into a failure */
}

static int finish_fail(lua_State *L, sp_call_ext *x)
{
	sp_call *k = &x->k;
	k->state = ST_FINISHED;
	lua_pushliteral(L, "fail");
	switch (x->fail_how) {
	case FAIL_TRANSPORT:
		sp_push_failure_error(L, k);
		break;
	case FAIL_TOKEN_DECODE:
		/* no body: it may hold a token we did not accept */
		sp_push_plain_error(L, k, SP_KIND_DECODE, x->fail_why);
		lua_pushinteger(L, k->status);
		lua_setfield(L, -2, "status");
		break;
	case FAIL_CLOSED:
		sp_push_plain_error(L, k, SP_KIND_TRANSPORT, x->fail_why);
		break;
	case FAIL_TOKEN_LOOP:
		sp_push_plain_error(L, k, SP_KIND_AUTH, x->fail_why);
		break;
	default:
		sp_push_response_error(L, k, x->fail_kind, x->fail_retry_after);
		break;
	}
	recycle_response(k);
	return 2;
}

static int call_next(lua_State *L)
{
	sp_call_ext *x = (sp_call_ext *)sp_check_call(L, 1);
	sp_call *k = &x->k;
	sp_client *c = k->client;
	double d;
	int r;

	if (k->state == ST_FINISHED)
		return luaL_error(L, "sendpulse: this call has already finished");
	if (c->closed) {
		release_fetch(c, k);
		x->fail_how = FAIL_CLOSED;
		x->fail_why = "the client was closed";
		return finish_fail(L, x);
	}

top:
	switch (k->state) {
	case ST_ACQUIRE:
		if (sp_token_usable(c, sp_walltime()))
			goto send_api;
		if (c->fetch_owner && c->fetch_owner != k) {
			if (sp_monotime() < c->fetch_deadline) {
				if (x->inline_io) {
					sp_sleep(WAIT_STEP);
					goto top;
				}
				lua_pushliteral(L, "wait");
				lua_pushnumber(L, WAIT_STEP);
				return 2;
			}
			c->fetch_owner = NULL;	/* abandoned: take over */
		}
		c->fetch_owner = k;
		c->fetch_deadline = sp_monotime() + FETCH_SLACK +
			(c->timeout + c->connect_timeout) * (c->max_retries + 1);
		if (c->has_store) {
			k->state = ST_STORE_GET;
			return push_key(L, k, "get");
		}
		goto fetch_token;

	case ST_STORE_GET:
		if (adopt(L, k, 2, 3)) {
			release_fetch(c, k);
			goto send_api;
		}
		/* Missing, expired or the token a 401 rejected: fetch under the
		 * store's lock. Nothing is deleted first: another process may be
		 * writing a fresh token, and ours will overwrite a stale one. */
		k->state = ST_LOCK;
		return push_key(L, k, "lock");

	case ST_LOCK:
		k->locked = lua_toboolean(L, 2);
		if (k->locked) {
			k->state = ST_RECHECK;
			return push_key(L, k, "get");
		}
		goto fetch_token;

	case ST_RECHECK:
		if (adopt(L, k, 2, 3)) {
			/* another process fetched while we waited for the lock */
			release_fetch(c, k);
			k->cont = CONT_SEND;
			goto unlock;
		}
		goto fetch_token;

	case ST_PACED:
		goto transmit;

	case ST_PACE_WAIT:
		goto dispatch;

	case ST_TOKEN_SENT: {
		const char *why = NULL;
		double life;

		if (k->failure == 0 && k->status >= 200 && k->status < 300) {
			if (sp_token_parse(L, k, &life, &why)) {
				if (c->has_store) {
					k->state = ST_STORE_SET;
					lua_pushliteral(L, "set");
					lua_pushstring(L, c->store_key);
					lua_pushlstring(L, c->token.data, c->token.len);
					lua_pushnumber(L, c->token_expires);
					return 4;
				}
				release_fetch(c, k);
				goto send_api;
			}
			x->fail_how = FAIL_TOKEN_DECODE;
			x->fail_why = why;
			k->cont = CONT_FAIL;
		} else if (k->failure) {
			/* the token request has no side effect: always retryable */
			x->fail_how = FAIL_TRANSPORT;
			k->cont = k->retries < c->max_retries ? CONT_RETRY : CONT_FAIL;
		} else if (k->status == 429 || k->status >= 500) {
			x->fail_how = FAIL_RESPONSE;
			x->fail_kind = -1;
			x->fail_retry_after = k->retry_after;
			k->cont = k->retries < c->max_retries ? CONT_RETRY : CONT_FAIL;
			if (k->status == 429 && k->retry_after > c->max_retry_wait)
				k->cont = CONT_FAIL;
		} else {
			/* 4xx: bad credentials. Never loop on them. */
			x->fail_how = FAIL_RESPONSE;
			x->fail_kind = SP_KIND_AUTH;
			k->cont = CONT_FAIL;
		}
		release_fetch(c, k);
		if (c->has_store && k->rejected.len) {
			/* no replacement for a token the server refused: do not
			 * leave it for other clients of the store */
			k->state = ST_STORE_DELETE;
			return push_key(L, k, "delete");
		}
		if (k->locked)
			goto unlock;
		goto cont;
	}

	case ST_STORE_DELETE:
		if (k->locked)
			goto unlock;
		goto cont;

	case ST_STORE_SET:
		release_fetch(c, k);
		if (k->locked) {
			k->cont = CONT_SEND;
			goto unlock;
		}
		goto send_api;

	case ST_UNLOCK:
		goto cont;

	case ST_API_SENT:
		if (k->failure) {
			x->fail_how = FAIL_TRANSPORT;
			if (k->retries < c->max_retries &&
					(idempotent(k->method) || !k->sent))
				goto retry;
			return finish_fail(L, x);
		}
		if (k->status >= 200 && k->status < 300) {
			r = finish_done(L, x);
			if (r > 0)
				return r;
			return finish_fail(L, x);
		}
		x->fail_how = FAIL_RESPONSE;
		x->fail_kind = -1;
		x->fail_retry_after = -1;
		if (k->status == 401 && c->oauth && !k->refreshed) {
			/* the token was revoked or expired early: one refresh */
			k->refreshed = 1;
			if (c->token_gen == k->used_gen && c->token.len) {
				if (!sp_buf_set(&k->rejected, c->token.data,
						c->token.len))
					return luaL_error(L, "out of memory");
				sp_token_drop(c);
			}
			k->state = ST_ACQUIRE;
			goto top;
		}
		{
			long long code = 0;
			int rate_limited = k->status == 429;
			if (!rate_limited && k->status >= 400 &&
					sp_response_error_code(L, k, &code) &&
					code == 2020202020LL)
				rate_limited = 1;
			if (rate_limited) {
				double wait = k->retry_after >= 0 ? k->retry_after
					: backoff(k);
				if (wait < 1 && k->retry_after < 0)
					wait = 1;	/* the server counts per second */
				x->fail_retry_after = wait;
				if (k->retries < c->max_retries &&
						wait <= c->max_retry_wait) {
					k->retries++;
					d = wait;
					goto sleep_then_acquire;
				}
				return finish_fail(L, x);
			}
		}
		if (k->status >= 500 && idempotent(k->method) &&
				k->retries < c->max_retries)
			goto retry;
		return finish_fail(L, x);

	default:
		return luaL_error(L, "sendpulse: call in an unknown state");
	}

cont:
	switch (k->cont) {
	case CONT_SEND:
		goto send_api;
	case CONT_RETRY:
		goto retry;
	default:
		return finish_fail(L, x);
	}

unlock:
	k->locked = 0;
	k->state = ST_UNLOCK;
	return push_key(L, k, "unlock");

retry:
	d = backoff(k);
	if (k->status == 429 && k->retry_after >= 0)
		d = k->retry_after;
	k->retries++;
sleep_then_acquire:
	k->state = ST_ACQUIRE;
	k->last_delay = d;
	if (x->inline_io) {
		sp_sleep(d);
		goto top;
	}
	lua_pushliteral(L, "sleep");
	lua_pushnumber(L, d);
	return 2;

fetch_token:
	/* Tokens that expire before they can be used (a server sending a
	 * tiny expires_in) must not turn into a stream of token requests. */
	if (++k->token_fetches > c->max_retries + 2) {
		release_fetch(c, k);
		x->fail_how = FAIL_TOKEN_LOOP;
		x->fail_why = "every new token expired before it could be used";
		k->cont = CONT_FAIL;
		if (k->locked)
			goto unlock;
		return finish_fail(L, x);
	}
	k->req_is_token = 1;
	goto dispatch;

send_api:
	k->req_is_token = 0;
	goto dispatch;

dispatch:
	if (c->shared_pacer) {
		k->state = ST_PACED;
		return push_key(L, k, "pace");
	}
	if (c->pace_cap) {
		/* A slot is taken only when it is free now, never ahead: calls
		 * waiting together (a batch) then count from the real send times
		 * of those before them, which the transport stamps. */
		d = sp_pacer_wait(c->pace_ring, c->pace_cap, c->pace_head,
			c->pace_window, sp_monotime());
		if (d > 0) {
			k->state = ST_PACE_WAIT;
			if (!x->inline_io) {
				lua_pushliteral(L, "sleep");
				lua_pushnumber(L, d);
				return 2;
			}
			sp_sleep(d);
			goto dispatch;
		}
		k->pace_slot = c->pace_head;
		sp_pacer_reserve(c->pace_ring, c->pace_cap, &c->pace_head,
			c->pace_window, sp_monotime());
	}

transmit:
	/* pacing may have waited past the token's expiry: check it again */
	if (!k->req_is_token && !sp_token_usable(c, sp_walltime())) {
		k->state = ST_ACQUIRE;
		goto top;
	}
	reset_response(k);
	k->attempts++;
	k->state = k->req_is_token ? ST_TOKEN_SENT : ST_API_SENT;
	if (!k->req_is_token)
		k->used_gen = c->token_gen;
	if (x->inline_io) {
		sp_http_perform(c, k);
		goto top;
	}
	lua_pushliteral(L, "send");
	return 1;
}

/* ---- reporting the outcome of "send" from a Lua transport -------------- */

/* call:set_response(status, body [, retry_after_header]) */
static int call_set_response(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	lua_Integer status = luaL_checkinteger(L, 2);
	size_t n;
	const char *body = luaL_optlstring(L, 3, "", &n);

	luaL_argcheck(L, status >= 100 && status <= 999, 2, "invalid status");
	reset_response(k);
	k->status = (int)status;
	k->sent = 1;
	if (!sp_buf_set(&k->resp, body, n))
		return luaL_error(L, "out of memory");
	if (lua_isstring(L, 4)) {
		size_t vn;
		const char *v = lua_tolstring(L, 4, &vn);
		k->retry_after = sp_parse_retry_after(v, vn, sp_walltime());
	}
	return 0;
}

/* call:set_failure(code, message, sent [, status]): code in libcurl's
 * numbering, so errors read the same whatever did the I/O. */
static int call_set_failure(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	lua_Integer code = luaL_checkinteger(L, 2);
	size_t n;
	const char *msg = luaL_optlstring(L, 3, "", &n);

	luaL_argcheck(L, code > 0, 2, "failure code must be positive");
	reset_response(k);
	k->failure = (int)code;
	k->sent = lua_toboolean(L, 4);
	k->status = (int)luaL_optinteger(L, 5, 0);
	if (!sp_buf_set(&k->errmsg, msg, n))
		return luaL_error(L, "out of memory");
	return 0;
}

/* call:wire() -> the raw HTTP/1.1 request for the current step */
static int call_wire(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (!sp_wire_request(k))
		return luaL_error(L, "out of memory");
	lua_pushlstring(L, k->wire.data, k->wire.len);
	sp_buf_wipe(&k->wire);	/* it holds a token or the secret */
	return 1;
}

/* call:resendable() -> may the request in flight go out twice? (the
 * token fetch and idempotent methods: yes; POST and PATCH: no) */
static int call_resendable(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	lua_pushboolean(L, k->req_is_token || idempotent(k->method));
	return 1;
}

/* call:key() -> a light userdata naming this call in client:poll() */
static int call_key(lua_State *L)
{
	lua_pushlightuserdata(L, sp_check_call(L, 1));
	return 1;
}

/* client:start(call): hands the request in flight to libcurl's multi
 * handle without waiting (client:batch). A failure to start is recorded
 * in the call like any transport failure; returns whether it started. */
int sp_call_start(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	sp_call *k = sp_check_call(L, 2);
	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	if (k->client != c)
		return luaL_argerror(L, 2, "a call of another client");
	lua_pushboolean(L, sp_http_start(c, k, 1));
	return 1;
}

static int call_gc(lua_State *L)
{
	sp_call *k = (sp_call *)luaL_checkudata(L, 1, SP_CALL_MT);
	if (k->client) {
		release_fetch(k->client, k);
		sp_http_detach(k);
	}
	sp_buf_free(&k->target);
	sp_buf_wipe(&k->body);
	sp_buf_free(&k->body);
	sp_buf_wipe(&k->rejected);
	sp_buf_free(&k->rejected);
	sp_buf_free(&k->resp);
	sp_buf_free(&k->errmsg);
	sp_buf_wipe(&k->wire);
	sp_buf_free(&k->wire);
	k->client = NULL;
	return 0;
}

static int method_from_name(const char *m)
{
	int i;
	for (i = 0; i <= SP_DELETE; i++)
		if (strcmp(m, sp_method_names[i]) == 0)
			return i;
	return -1;
}

/*
 * client:call(method, path [, query [, body [, inline_io]]]) -> call
 * Validates and encodes everything up front, so a bad argument raises
 * before anything is sent.
 */
int sp_call_open(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	const char *mname = luaL_checkstring(L, 2);
	size_t plen;
	const char *path, *why;
	int method = method_from_name(mname);
	int inline_io = lua_toboolean(L, 6);	/* before anything is pushed */
	sp_call_ext *x;
	sp_call *k;
	char err[256];

	if (method < 0)
		return luaL_error(L, "sendpulse: unknown HTTP method '%s'", mname);
	if (lua_type(L, 3) != LUA_TSTRING)
		return luaL_error(L, "sendpulse: bad argument 'path' (a string "
			"expected, got %s)", luaL_typename(L, 3));
	path = lua_tolstring(L, 3, &plen);
	if ((why = sp_check_path(path, plen)) != NULL)
		return luaL_error(L, "sendpulse: bad argument 'path' (%s)", why);
	if (!lua_isnoneornil(L, 4) && !lua_istable(L, 4))
		return luaL_error(L, "sendpulse: bad argument 'query' (a table "
			"expected, got %s)", luaL_typename(L, 4));
	if (!lua_isnoneornil(L, 5) && !lua_istable(L, 5))
		return luaL_error(L, "sendpulse: bad argument 'body' (a table "
			"expected, got %s)", luaL_typename(L, 5));
	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");

	x = (sp_call_ext *)sp_newuserdata(L, sizeof *x);
	memset(x, 0, sizeof *x);
	luaL_getmetatable(L, SP_CALL_MT);
	lua_setmetatable(L, -2);
	lua_pushvalue(L, 1);		/* the call keeps its client alive */
	sp_setuservalue(L, -2);
	k = &x->k;
	k->client = c;
	k->method = method;
	k->retry_after = -1;
	k->pace_slot = -1;
	x->inline_io = inline_io;
	x->fail_kind = -1;

	if (!sp_buf_add(&k->target, c->base_path.data, c->base_path.len) ||
			!sp_buf_add(&k->target, path, plen))
		return luaL_error(L, "out of memory");
	if (lua_istable(L, 4)) {
		size_t before = k->target.len;
		if (!sp_buf_addc(&k->target, '?'))
			return luaL_error(L, "out of memory");
		sp_encode_query(L, 4, &k->target, "query");
		if (k->target.len == before + 1)
			k->target.data[--k->target.len] = '\0';
	}
	if (lua_istable(L, 5)) {
		if (!sp_json_encode(L, 5, &k->body, "body", err, sizeof err))
			return luaL_error(L, "sendpulse: bad argument 'body' (%s)",
				err);
		k->has_body = 1;
	}
	k->state = ST_ACQUIRE;
	return 1;
}

void sp_call_register(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "next", call_next },
		{ "set_response", call_set_response },
		{ "set_failure", call_set_failure },
		{ "wire", call_wire },
		{ "resendable", call_resendable },
		{ "key", call_key },
		{ NULL, NULL }
	};
	luaL_newmetatable(L, SP_CALL_MT);
	lua_pushcfunction(L, call_gc);
	lua_setfield(L, -2, "__gc");
	lua_createtable(L, 0, 5);
	sp_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
