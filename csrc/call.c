/*
 * call.c - one API call as a resumable state machine that does no I/O.
 *
 * sp_call_step() looks at the outcome of what was asked last (a response,
 * a store's answer, a wait) and says what to do next: an enum sp_action in
 * k->action, with its argument in the call (k->delay, the request in
 * k->req). A driver carries it out and steps again:
 *
 *   send                 perform the request described by k->req, then
 *                        report with call:set_response / set_failure
 *   sleep, seconds       wait (backoff, Retry-After, local pacing)
 *   wait, seconds        another call of this domain is fetching the
 *                        token; wait a little and step again
 *   pace, key, cap, span the shared pacer: step with "paced", delay (the
 *                        seconds it says to wait: the call sleeps them,
 *                        or fails at once when that would overrun
 *                        call_timeout), "again", delay (no slot taken
 *                        yet: sleep, then pace again), "local", or
 *                        "quota", retry_after, name
 *   get, key             store:get(key)          -> step(token, expires_at)
 *   lock, key            store:lock(key)         -> step(locked)
 *   set, key, tok, exp   store:set(key, tok, exp)
 *   delete, key, tok     store:delete(key, tok)
 *   unlock, key          store:unlock(key)
 *   done, result         the decoded response
 *   fail, err            the error object
 *
 * Drivers: drive.c runs a plain call in one C call, doing send (libcurl)
 * and sleep itself and surfacing only the store and pacer actions and the
 * outcome; the Lua transports (a libcurl batch, nginx cosockets) step with
 * call:next() and do everything themselves. Nothing here yields.
 *
 * Token rules: reuse the cached token until expiry less a leeway; at most
 * one fetch in flight per domain (the others of that domain "wait"); with
 * a store, look there first, then lock, look again, and only then fetch;
 * on a 401 drop the token and retry the call once with a new one, unless
 * that token itself replaced one refused by a 401 and nothing has
 * succeeded with it since (the 401 is then not the token's fault); a
 * failed fetch leaves nothing behind, so the next call starts afresh.
 *
 * Retry rules: a request the server surely did not act on (a 429, the
 * rate-limit code with a 4xx status, a connection refused) is sent again,
 * whatever its method; one it may have acted on (a 5xx, a dropped
 * connection after sending) only when repeating it is harmless (GET, PUT,
 * DELETE). Everything happens within call_timeout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

enum {
	ST_START,		/* a fresh call: sets its deadline */
	ST_ACQUIRE,		/* make sure a usable token is at hand */
	ST_STORE_GET,		/* awaiting store:get */
	ST_LOCK,		/* awaiting store:lock */
	ST_RECHECK,		/* awaiting store:get under the lock */
	ST_DISPATCH,		/* pace, then transmit (after a wait) */
	ST_PACED,		/* awaiting the shared pacer */
	ST_PACED_WAIT,		/* waiting for the shared pacer's slot */
	ST_TOKEN_SENT,		/* awaiting the token response */
	ST_STORE_SET,		/* awaiting store:set of the new token */
	ST_STORE_DELETE,	/* awaiting store:delete of a rejected token */
	ST_UNLOCK,		/* awaiting store:unlock, then k->cont */
	ST_API_SENT,		/* awaiting the API response */
	ST_FINISHED
};

/* After an unlock (or a delete): go on how? */
enum { CONT_SEND, CONT_FAIL, CONT_RETRY };

/* How a failed call is reported when it ends. */
enum { FAIL_RESPONSE, FAIL_TRANSPORT, FAIL_TOKEN_DECODE, FAIL_PLAIN,
	FAIL_QUOTA };

/* Longest wait for the fetching call before we assume it was abandoned. */
#define FETCH_SLACK 5.0
#define WAIT_STEP 0.005
#define BACKOFF_MAX 30.0

typedef struct sp_call_ext {
	sp_call k;
	int fail_how;
	int fail_kind;		/* kind hint for FAIL_RESPONSE, -1: derive */
	const char *fail_why;	/* FAIL_TOKEN_DECODE / FAIL_PLAIN message */
	int plain_kind;
	double fail_retry_after;
	const char *quota;	/* FAIL_QUOTA: which one */
} sp_call_ext;

#define EXT(k) ((sp_call_ext *)(void *)(k))

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
	k->ebody_read = 0;
	sp_buf_clear(&k->resp);
	sp_buf_clear(&k->errmsg);
}

static double backoff(sp_call *k)
{
	sp_client *c = k->client;
	double d = c->retry_delay * pow(2.0, k->retries) * sp_jitter(c);
	return d > BACKOFF_MAX ? BACKOFF_MAX : d;
}

static double time_left(sp_call *k)
{
	return k->deadline - sp_monotime();
}

/* The fate of the API attempt that just ended (see enum SP_FATE_). */
static int attempt_fate(lua_State *L, sp_call *k)
{
	long long code;
	if (k->failure) {
		if (k->status >= 200 && k->status < 500)
			return SP_FATE_YES;	/* answered, the body broke */
		return k->sent || k->status ? SP_FATE_MAYBE : SP_FATE_NO;
	}
	if (k->status == 401 || k->status == 429)
		return SP_FATE_NO;
	if (k->status >= 500)
		return SP_FATE_MAYBE;
	if (k->status >= 400 && sp_response_error_code(L, k, &code) &&
			code == 2020202020LL)
		return SP_FATE_NO;
	return SP_FATE_YES;
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
	if (!(expires == expires) || !sp_token_acceptable(s, n))
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

/* ---- ending ------------------------------------------------------------ */

static int end_fail(lua_State *L, sp_call *k)
{
	sp_call_ext *x = EXT(k);
	release_fetch(k->client, k);
	k->state = ST_FINISHED;
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
	case FAIL_PLAIN:
		sp_push_plain_error(L, k, x->plain_kind, x->fail_why);
		break;
	case FAIL_QUOTA:
		sp_push_quota_error(L, k, x->quota, x->fail_retry_after,
			x->fail_why);
		break;
	default:
		sp_push_response_error(L, k, x->fail_kind, x->fail_retry_after);
		break;
	}
	recycle_response(k);
	return k->action = SP_ACT_FAIL;
}

static void set_plain(sp_call *k, int kind, const char *why)
{
	sp_call_ext *x = EXT(k);
	x->fail_how = FAIL_PLAIN;
	x->plain_kind = kind;
	x->fail_why = why;
}

/* A body that decodes: done. One that does not, or a bare `false` (the
 * API refusing without saying why): a failure. */
static int finish_done(lua_State *L, sp_call *k)
{
	sp_call_ext *x = EXT(k);
	char err[160];
	sp_client *c = k->client;

	if (c->refresh_gen && c->refresh_gen == k->used_gen)
		c->refresh_gen = 0;	/* the replacement token works */
	if (k->status == 204 || k->status == 205) {
		k->state = ST_FINISHED;
		lua_pushboolean(L, 1);	/* success with no content by design */
		return k->action = SP_ACT_DONE;
	}
	if (k->raw) {
		/* a file: the body as it came (within max_body_size) */
		k->state = ST_FINISHED;
		lua_pushlstring(L, k->resp.data ? k->resp.data : "", k->resp.len);
		recycle_response(k);
		return k->action = SP_ACT_DONE;
	}
	switch (sp_json_decode_budget(L, k->resp.data ? k->resp.data : "",
			k->resp.len, err, sizeof err)) {
	case 1:
		if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
			lua_pop(L, 1);
			x->fail_how = FAIL_RESPONSE;
			x->fail_kind = SP_KIND_API;
			x->fail_retry_after = -1;
			return end_fail(L, k);
		}
		k->state = ST_FINISHED;
		recycle_response(k);
		return k->action = SP_ACT_DONE;
	case -1:
		/* the decoded value would not fit in memory or the budget */
		set_plain(k, SP_KIND_DECODE, "the response is too large to "
			"decode in the memory allowed (see max_body_size)");
		return end_fail(L, k);
	default:
		/* what the error reports: where the JSON broke */
		k->ebody_read = 1;
		k->ebody_json = k->ebody_has_code = k->ebody_big = 0;
		sp_buf_clear(&k->ebody_message);
		snprintf(k->ebody_where, sizeof k->ebody_where, "%.100s", err);
		x->fail_how = FAIL_RESPONSE;
		x->fail_kind = SP_KIND_DECODE;
		x->fail_retry_after = -1;
		return end_fail(L, k);
	}
}

/* ---- pacing and transmission ------------------------------------------- */

static int step_transmit(lua_State *L, sp_call *k);

/* Paces the request about to go (the token fetch or the API call), then
 * transmits it. */
static int step_dispatch(lua_State *L, sp_call *k)
{
	sp_client *c = k->client;
	double d, left, renew;

	if (!sp_pacer_day_left(&c->pacer, sp_walltime(), &renew)) {
		sp_call_ext *x = EXT(k);
		x->fail_how = FAIL_QUOTA;
		x->quota = "per_day";
		x->fail_retry_after = renew;
		x->fail_why = "the plan's requests for the day are spent; they "
			"renew at midnight UTC";
		return end_fail(L, k);
	}
	if (c->shared_pacer && k->pace_local && !c->shared_down)
		k->pace_local = 0;	/* another call found it back meanwhile */
	if (c->shared_pacer && !k->pace_local) {
		/* Failing, or back from a failure for one window: the sends
		 * this host paced alone are not in the shared pacer's log, so
		 * its own window must allow the request too. */
		if (c->pacer.nw && (c->shared_down ||
				sp_monotime() < c->rejoin_until)) {
			d = sp_pacer_wait(&c->pacer, sp_monotime());
			if (d > 0) {
				if (d > time_left(k)) {
					sp_call_ext *x = EXT(k);
					x->fail_how = FAIL_QUOTA;
					x->quota = "per_second";
					x->fail_retry_after = d;
					x->fail_why = "waiting for the rate limit "
						"would take longer than "
						"call_timeout allows";
					return end_fail(L, k);
				}
				k->state = ST_DISPATCH;
				k->delay = d;
				return k->action = SP_ACT_SLEEP;
			}
		}
		k->state = ST_PACED;
		return k->action = SP_ACT_PACE;
	}
	if (c->pacer.nw) {
		/* A slot is taken only when it is free now, never ahead: calls
		 * waiting together (a batch) then count from the real send times
		 * of those before them, which the transport stamps. */
		double now = sp_monotime();
		d = sp_pacer_wait(&c->pacer, now);
		if (k->pace_local && c->alone_from - now > d)
			d = c->alone_from - now;
		if (d > 0) {
			left = time_left(k);
			if (d > left) {
				sp_call_ext *x = EXT(k);
				x->fail_how = FAIL_QUOTA;
				x->quota = c->pacer.nw > 1 && d > 1.5 ? "per_minute"
					: "per_second";
				x->fail_retry_after = d;
				x->fail_why = "waiting for the rate limit would take "
					"longer than call_timeout allows";
				return end_fail(L, k);
			}
			k->state = ST_DISPATCH;
			k->delay = d;
			return k->action = SP_ACT_SLEEP;
		}
		sp_pacer_take(&c->pacer, &k->ticket);
	}
	c->pacer.day_count++;	/* (counts only with a day's quota) */
	return step_transmit(L, k);
}

/* The shared pacer gave the request a slot d seconds from now: wait for
 * it, or fail at once when the wait would overrun the call's time (the
 * slot stays taken: the fleet's budget is not given back). With again,
 * it took no slot (it reserves none far ahead): wait d, then ask again. */
static int shared_slot(lua_State *L, sp_call *k, double d, int again)
{
	sp_client *c = k->client;
	if (!(d < 1e9))
		d = 1e9;
	if (again && !(d >= 0.001))
		d = 0.001;	/* (never a busy loop on the pacer) */
	if (!(d > 0)) {
		sp_pacer_record(&c->pacer, &k->ticket);
		return step_transmit(L, k);
	}
	if (d > time_left(k)) {
		sp_call_ext *x = EXT(k);
		x->fail_how = FAIL_QUOTA;
		x->quota = c->quota_minute && d > 1.5 ? "per_minute"
			: "per_second";
		x->fail_retry_after = d;
		x->fail_why = "waiting for the shared pacer's slot would take "
			"longer than call_timeout allows";
		return end_fail(L, k);
	}
	k->state = again ? ST_DISPATCH : ST_PACED_WAIT;
	k->delay = d;
	return k->action = SP_ACT_SLEEP;
}

static int step_transmit(lua_State *L, sp_call *k)
{
	sp_client *c = k->client;
	double left;

	/* pacing may have waited past the token's expiry: check it again */
	if (!k->req_is_token && !sp_token_usable(c, sp_walltime())) {
		sp_pacer_giveback(&c->pacer, &k->ticket);
		k->state = ST_ACQUIRE;
		return sp_call_step(L, k, 0);
	}
	left = time_left(k);
	if (left <= 0) {
		set_plain(k, SP_KIND_TIMEOUT, "the call ran out of time "
			"(call_timeout) before it could be sent");
		return end_fail(L, k);
	}
	reset_response(k);
	k->pace_local = 0;
	if (!k->req_is_token) {
		k->attempts++;
		k->used_gen = c->token_gen;
	}
	k->state = k->req_is_token ? ST_TOKEN_SENT : ST_API_SENT;
	sp_request_fill(k, left);
	k->attempt_start = sp_monotime();
	return k->action = SP_ACT_SEND;
}

/* Waits d seconds, then starts over from the token; fails instead when
 * that would overrun the call's time (the current failure is reported). */
static int sleep_then_acquire(lua_State *L, sp_call *k, double d)
{
	if (d >= time_left(k))
		return end_fail(L, k);
	k->state = ST_ACQUIRE;
	k->delay = d;
	return k->action = SP_ACT_SLEEP;
}

static int retry(lua_State *L, sp_call *k)
{
	double d = backoff(k);
	/* a server that says when to come back (429, or 503 "unavailable")
	 * is believed, within max_retry_wait */
	if ((k->status == 429 || k->status == 503) && k->retry_after >= 0) {
		if (k->retry_after > k->client->max_retry_wait)
			return end_fail(L, k);
		d = k->retry_after;
	}
	k->retries++;
	return sleep_then_acquire(L, k, d);
}

/* ---- the token --------------------------------------------------------- */

static int fetch_token(lua_State *L, sp_call *k)
{
	sp_client *c = k->client;
	/* Tokens that expire before they can be used (a server sending a
	 * tiny expires_in) must not turn into a stream of token requests. */
	if (++k->token_fetches > c->max_retries + 2) {
		release_fetch(c, k);
		set_plain(k, SP_KIND_AUTH, "every new token expired before it "
			"could be used");
		if (k->locked) {
			k->cont = CONT_FAIL;
			k->locked = 0;
			k->state = ST_UNLOCK;
			return k->action = SP_ACT_UNLOCK;
		}
		return end_fail(L, k);
	}
	k->req_is_token = 1;
	return step_dispatch(L, k);
}

static int send_api(lua_State *L, sp_call *k)
{
	k->req_is_token = 0;
	return step_dispatch(L, k);
}

static int unlock_then(sp_call *k, int cont)
{
	k->cont = cont;
	k->locked = 0;
	k->state = ST_UNLOCK;
	return k->action = SP_ACT_UNLOCK;
}

static int continue_with(lua_State *L, sp_call *k)
{
	switch (k->cont) {
	case CONT_SEND:
		return send_api(L, k);
	case CONT_RETRY:
		return retry(L, k);
	default:
		return end_fail(L, k);
	}
}

static int step_acquire(lua_State *L, sp_call *k)
{
	sp_client *c = k->client;

	if (sp_token_usable(c, sp_walltime()))
		return send_api(L, k);
	if (c->fetch_owner && c->fetch_owner != k) {
		/* Wait only for a fetch that is being driven together with
		 * us: a plain call runs to its end before anything else runs,
		 * so a fetch it would wait for (a batch's, from inside that
		 * batch's on_progress) could only progress after it. */
		if (k->domain && c->fetch_owner->domain == k->domain &&
				sp_monotime() < c->fetch_deadline) {
			if (WAIT_STEP >= time_left(k)) {
				set_plain(k, SP_KIND_TIMEOUT, "the call ran out of "
					"time (call_timeout) waiting for a token");
				return end_fail(L, k);
			}
			k->state = ST_ACQUIRE;
			k->delay = WAIT_STEP;
			return k->action = SP_ACT_WAIT;
		}
		c->fetch_owner = NULL;	/* abandoned, or not ours to wait for */
	}
	c->fetch_owner = k;
	c->fetch_deadline = sp_monotime() + FETCH_SLACK +
		(c->timeout + c->connect_timeout) * (c->max_retries + 1);
	if (c->has_store) {
		k->state = ST_STORE_GET;
		return k->action = SP_ACT_GET;
	}
	return fetch_token(L, k);
}

static int step_token_sent(lua_State *L, sp_call *k)
{
	sp_call_ext *x = EXT(k);
	sp_client *c = k->client;
	const char *why = NULL;
	double life;

	sp_pacer_done(&c->pacer, &k->ticket, sp_monotime());
	if (k->failure == 0 && k->status >= 200 && k->status < 300) {
		if (sp_token_parse(L, k, &life, &why)) {
			if (c->refresh_pending) {
				c->refresh_gen = c->token_gen;
				c->refresh_pending = 0;
			}
			if (c->has_store) {
				k->state = ST_STORE_SET;
				return k->action = SP_ACT_SET;
			}
			release_fetch(c, k);
			return send_api(L, k);
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
		/* no replacement for a token the server refused: take it out
		 * of the store, unless someone replaced it meanwhile */
		k->state = ST_STORE_DELETE;
		return k->action = SP_ACT_DELETE;
	}
	if (k->locked)
		return unlock_then(k, k->cont);
	return continue_with(L, k);
}

/* ---- the API response -------------------------------------------------- */

static int step_api_sent(lua_State *L, sp_call *k)
{
	sp_call_ext *x = EXT(k);
	sp_client *c = k->client;
	int fate;

	sp_pacer_done(&c->pacer, &k->ticket, sp_monotime());
	fate = attempt_fate(L, k);
	if (fate > k->fate)
		k->fate = fate;
	if (k->failure) {
		x->fail_how = FAIL_TRANSPORT;
		/* an answer nobody could read (code 8: too large or garbled
		 * a head) would come back the same way */
		if (k->failure != CURLE_WEIRD_SERVER_REPLY &&
				k->retries < c->max_retries &&
				(idempotent(k->method) || !k->sent))
			return retry(L, k);
		return end_fail(L, k);
	}
	if (k->status >= 200 && k->status < 300)
		return finish_done(L, k);

	x->fail_how = FAIL_RESPONSE;
	x->fail_kind = -1;
	x->fail_retry_after = -1;
	if (k->status == 401 && c->oauth && !k->refreshed) {
		/* the token was revoked or expired early: one refresh, unless
		 * the token was itself the replacement of one a 401 refused
		 * and nothing succeeded with it (the 401 persists) */
		k->refreshed = 1;
		if (c->token_gen == k->used_gen && c->token.len) {
			if (c->refresh_gen == k->used_gen)
				return end_fail(L, k);
			if (!sp_buf_set(&k->rejected, c->token.data, c->token.len))
				return luaL_error(L, "out of memory");
			sp_token_drop(c);
			c->refresh_pending = 1;
		}
		k->state = ST_ACQUIRE;
		return sp_call_step(L, k, 0);
	}
	{
		long long code = 0;
		int per_second = k->status >= 400 && k->status < 500 &&
			sp_response_error_code(L, k, &code) && code == 2020202020LL;
		/* the rate-limit code with a 5xx is not a refusal: the server
		 * may have acted (it is reported as a rate limit all the same) */
		if (k->status == 429 && !per_second && k->retry_after < 0) {
			/* A 429 without the per-second code is a quota of the
			 * plan (or the token endpoint's throttle): the next
			 * second will not be better. Not retried. */
			x->fail_retry_after = 60;
			return end_fail(L, k);
		}
		if (k->status == 429 || per_second) {
			double wait = k->retry_after >= 0 ? k->retry_after
				: backoff(k);
			if (wait < 1 && k->retry_after < 0)
				wait = 1;	/* the server counts per second */
			x->fail_retry_after = wait;
			if (k->retries < c->max_retries &&
					wait <= c->max_retry_wait) {
				k->retries++;
				return sleep_then_acquire(L, k, wait);
			}
			return end_fail(L, k);
		}
	}
	if (k->status >= 500 && idempotent(k->method) &&
			k->retries < c->max_retries)
		return retry(L, k);
	return end_fail(L, k);
}

/* ---- the step ---------------------------------------------------------- */

/*
 * One step: reads the outcome of the last action (store answers at
 * argbase, argbase+1...; argbase 0: none) and returns the next action.
 * For done and fail the result is pushed on the stack.
 */
int sp_call_step(lua_State *L, sp_call *k, int argbase)
{
	sp_client *c = k->client;

	switch (k->state) {
	case ST_START:
		k->deadline = sp_monotime() + c->call_timeout;
		k->state = ST_ACQUIRE;
		return step_acquire(L, k);

	case ST_ACQUIRE:
		return step_acquire(L, k);

	case ST_STORE_GET:
		if (argbase && adopt(L, k, argbase, argbase + 1)) {
			release_fetch(c, k);
			return send_api(L, k);
		}
		/* Missing, expired or the token a 401 rejected: fetch under the
		 * store's lock. Nothing is deleted first: another process may be
		 * writing a fresh token, and ours will overwrite a stale one. */
		k->state = ST_LOCK;
		return k->action = SP_ACT_LOCK;

	case ST_LOCK:
		k->locked = argbase && lua_toboolean(L, argbase);
		if (k->locked) {
			k->state = ST_RECHECK;
			return k->action = SP_ACT_GET;
		}
		return fetch_token(L, k);

	case ST_RECHECK:
		if (argbase && adopt(L, k, argbase, argbase + 1)) {
			/* another process fetched while we waited for the lock */
			release_fetch(c, k);
			return unlock_then(k, CONT_SEND);
		}
		return fetch_token(L, k);

	case ST_DISPATCH:
		return step_dispatch(L, k);

	case ST_PACED: {
		const char *how = argbase ? lua_tostring(L, argbase) : NULL;
		if (how && strcmp(how, "local") == 0) {
			/* the shared pacer failed: pace this request alone */
			k->pace_local = 1;
			if (!c->shared_down && c->shared_was_up) {
				/* it was pacing the fleet: what the others
				 * sent in its last window is not in the local
				 * log, so wait that window out (a host that
				 * never reached it knows nothing to wait for) */
				c->alone_from = sp_monotime() + c->shared_span +
					SP_ALONE_MARGIN;
			}
			c->shared_down = 1;
			return step_dispatch(L, k);
		}
		c->shared_was_up = 1;
		if (c->shared_down) {
			c->shared_down = 0;
			c->rejoin_until = sp_monotime() + c->shared_span;
		}
		if (how && strcmp(how, "quota") == 0) {
			sp_call_ext *x = EXT(k);
			x->fail_how = FAIL_QUOTA;
			x->fail_retry_after = (double)luaL_optnumber(L,
				argbase + 1, -1);
			x->quota = "quota";
			if (lua_type(L, argbase + 2) == LUA_TSTRING) {
				/* anchor the name in the call's uservalue? no:
				 * copy the few known names */
				const char *q = lua_tostring(L, argbase + 2);
				x->quota = strcmp(q, "per_day") == 0 ? "per_day"
					: strcmp(q, "per_minute") == 0
					? "per_minute" : "quota";
			}
			x->fail_why = strcmp(x->quota, "per_day") == 0
				? "the plan's per-day quota is spent (as the "
				  "shared pacer counts for the fleet); it renews "
				  "at midnight UTC"
				: strcmp(x->quota, "per_minute") == 0
				? "the plan's per-minute quota is spent (as the "
				  "shared pacer counts for the fleet)"
				: "a quota of the shared pacer is spent";
			return end_fail(L, k);
		}
		return shared_slot(L, k, argbase && lua_type(L, argbase + 1)
			== LUA_TNUMBER ? (double)lua_tonumber(L, argbase + 1)
			: 0, how && strcmp(how, "again") == 0);
	}

	case ST_PACED_WAIT:
		sp_pacer_record(&c->pacer, &k->ticket);
		return step_transmit(L, k);

	case ST_TOKEN_SENT:
		return step_token_sent(L, k);

	case ST_STORE_SET:
		release_fetch(c, k);
		if (k->locked)
			return unlock_then(k, CONT_SEND);
		return send_api(L, k);

	case ST_STORE_DELETE:
		if (k->locked)
			return unlock_then(k, k->cont);
		return continue_with(L, k);

	case ST_UNLOCK:
		return continue_with(L, k);

	case ST_API_SENT:
		return step_api_sent(L, k);

	default:
		return luaL_error(L, "sendpulse: call in an unknown state");
	}
}

/* Pushes the action of the last step with its arguments (for done and
 * fail, the result is already on the stack). Returns the values pushed. */
int sp_call_push_action(lua_State *L, sp_call *k)
{
	static const char *const names[] = {
		"send", "sleep", "wait", "pace", "get", "lock", "set", "delete",
		"unlock", "done", "fail"
	};
	sp_client *c = k->client;

	switch (k->action) {
	case SP_ACT_DONE:
	case SP_ACT_FAIL:
		lua_pushstring(L, names[k->action]);
		lua_insert(L, -2);
		return 2;
	case SP_ACT_SEND:
		lua_pushliteral(L, "send");
		return 1;
	case SP_ACT_SLEEP:
	case SP_ACT_WAIT:
		lua_pushstring(L, names[k->action]);
		lua_pushnumber(L, k->delay);
		return 2;
	case SP_ACT_PACE:
		lua_pushliteral(L, "pace");
		lua_pushstring(L, c->store_key);
		lua_pushinteger(L, c->shared_cap);
		lua_pushnumber(L, c->shared_span);
		return 4;
	case SP_ACT_SET:
		lua_pushliteral(L, "set");
		lua_pushstring(L, c->store_key);
		lua_pushlstring(L, c->token.data, c->token.len);
		lua_pushnumber(L, c->token_expires);
		return 4;
	case SP_ACT_DELETE:
		lua_pushliteral(L, "delete");
		lua_pushstring(L, c->store_key);
		lua_pushlstring(L, k->rejected.data, k->rejected.len);
		return 3;
	default:
		lua_pushstring(L, names[k->action]);
		lua_pushstring(L, c->store_key);
		return 2;
	}
}

/* ---- the Lua API of a call --------------------------------------------- */

static sp_call *check_live(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (k->state == ST_FINISHED)
		luaL_error(L, "sendpulse: this call has already finished");
	return k;
}

/* A call ended from outside while its request was handed over: its fate is
 * its outcome's if one came back, else unknown. */
static void note_cut_off(lua_State *L, sp_call *k)
{
	int fate;
	if (k->client && !k->client->closed)
		sp_pacer_done(&k->client->pacer, &k->ticket, sp_monotime());
	if (k->state != ST_API_SENT)
		return;
	fate = k->xfer == NULL && (k->status || k->failure)
		? attempt_fate(L, k) : SP_FATE_MAYBE;
	if (fate > k->fate)
		k->fate = fate;
}

/* A closed client ends every call at its next step (after letting go of
 * the store's lock, if it holds it). */
static int closed_fail(lua_State *L, sp_call *k)
{
	set_plain(k, SP_KIND_TRANSPORT, "the client was closed");
	note_cut_off(L, k);
	sp_http_detach(k);
	if (k->locked)
		unlock_then(k, CONT_FAIL);
	else
		end_fail(L, k);
	return sp_call_push_action(L, k);
}

/* call:next(...) -> action, args: one step (Lua transports drive). */
static int call_next(lua_State *L)
{
	sp_call *k = check_live(L);
	if (k->client->closed)
		return closed_fail(L, k);
	sp_call_step(L, k, lua_gettop(L) > 1 ? 2 : 0);
	return sp_call_push_action(L, k);
}

/* call:run(...) -> action, args: steps until an action only Lua can do
 * (a store or pacer) or the end, doing send and sleep itself. */
static int call_run(lua_State *L)
{
	sp_call *k = check_live(L);
	if (k->client->closed)
		return closed_fail(L, k);
	sp_drive(L, k, lua_gettop(L) > 1 ? 2 : 0);
	return sp_call_push_action(L, k);
}

/*
 * call:abort(kind, message) -> action, args: user code the driver called
 * for this call (a pacer, a transport, a progress callback) raised or
 * misbehaved. The call fails with that error once it has let go of what
 * it holds: the token fetch at once, the store's lock through a last
 * "unlock" action. Then "fail".
 */
static int call_abort(lua_State *L)
{
	sp_call *k = check_live(L);
	static const char *const kinds[] = { "callback", "timeout",
		"transport", NULL };
	static const int kind_codes[] = { SP_KIND_CALLBACK, SP_KIND_TIMEOUT,
		SP_KIND_TRANSPORT };
	int kind = kind_codes[luaL_checkoption(L, 2, "callback", kinds)];
	size_t n;
	const char *msg = luaL_optlstring(L, 3, "a callback failed", &n);

	/* the message outlives this C call: keep it in the error buffer */
	if (!sp_buf_set(&k->errmsg, msg, n))
		return luaL_error(L, "out of memory");
	set_plain(k, kind, k->errmsg.data);
	note_cut_off(L, k);
	sp_http_detach(k);
	release_fetch(k->client, k);
	if (k->locked) {
		unlock_then(k, CONT_FAIL);
		return sp_call_push_action(L, k);
	}
	end_fail(L, k);
	return sp_call_push_action(L, k);
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

	luaL_argcheck(L, code > 0 && code < 1000, 2, "a libcurl code expected");
	reset_response(k);
	k->failure = (int)code;
	k->sent = lua_toboolean(L, 4);
	k->status = (int)luaL_optinteger(L, 5, 0);
	if (!sp_buf_set(&k->errmsg, msg, n))
		return luaL_error(L, "out of memory");
	return 0;
}

/* call:resent(): the transport sent the request a second time (on a fresh
 * connection, the first having died unanswered): it counts as sent. */
static int call_resent(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (!k->req_is_token)
		k->attempts++;
	return 0;
}

/* call:wire() -> the raw HTTP/1.1 request for the current step */
static int call_wire(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	char err[160];
	if (!sp_wire_request(k, err, sizeof err))
		return luaL_error(L, "sendpulse: %s", err);
	lua_pushlstring(L, k->wire.data, k->wire.len);
	sp_buf_wipe(&k->wire);	/* it holds a token or the secret */
	return 1;
}

/* call:request() -> a description of the request in flight, without
 * credentials: { method, path, query, token, timeout, attempt } */
static int call_request(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	const sp_request *r = &k->req;
	const char *t = r->target ? r->target : "", *q;
	size_t blen = k->client->base_path.len, n = r->target_len;

	if (blen && n >= blen && memcmp(t, k->client->base_path.data,
			blen) == 0) {
		t += blen;
		n -= blen;
	}
	lua_createtable(L, 0, 6);
	lua_pushstring(L, sp_method_names[r->method]);
	lua_setfield(L, -2, "method");
	q = memchr(t, '?', n);
	lua_pushlstring(L, t, q ? (size_t)(q - t) : n);
	lua_setfield(L, -2, "path");
	if (q) {
		lua_pushlstring(L, q + 1, n - (size_t)(q + 1 - t));
		lua_setfield(L, -2, "query");
	}
	lua_pushboolean(L, k->req_is_token);
	lua_setfield(L, -2, "token");
	lua_pushnumber(L, r->timeout);
	lua_setfield(L, -2, "timeout");
	lua_pushnumber(L, r->connect_timeout);
	lua_setfield(L, -2, "connect_timeout");
	lua_pushinteger(L, k->req_is_token ? k->token_fetches : k->attempts);
	lua_setfield(L, -2, "attempt");
	lua_pushboolean(L, r->send_once);
	lua_setfield(L, -2, "send_once");
	return 1;
}

/* call:outcome() -> status|nil, failure code|nil, kind|nil, seconds: how
 * the last attempt ended (for on_request; kind names a transport failure) */
static int call_outcome(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (k->status)
		lua_pushinteger(L, k->status);
	else
		lua_pushnil(L);
	if (k->failure) {
		lua_pushinteger(L, k->failure);
		lua_pushstring(L, sp_kind_names[sp_failure_kind(k->failure)]);
	} else {
		lua_pushnil(L);
		lua_pushnil(L);
	}
	lua_pushnumber(L, sp_monotime() - k->attempt_start);
	return 4;
}

/* call:perform(): carries out "send" with the client's executor (libcurl)
 * and returns; the outcome is in the call (for drivers in Lua that still
 * send through libcurl, e.g. to report each attempt). */
static int call_perform(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (k->client->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	if (k->action != SP_ACT_SEND)
		return luaL_error(L, "sendpulse: the call has nothing to send");
	k->client->io.perform(k->client, k, k->client->io.ud);
	return 0;
}

/* call:leaving(): a Lua transport is writing the request now (after
 * connecting): the local pacer counts from this moment, as libcurl's
 * pre-request callback makes it do in http.c. */
static int call_leaving(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	k->left_at = sp_monotime();
	if (k->client && !k->client->closed)
		sp_pacer_sent(&k->client->pacer, &k->ticket, k->left_at);
	return 0;
}

/* call:left_at() -> when the latest attempt's request left (monotonic,
 * after connecting: libcurl's pre-request callback, a Lua transport's
 * call:leaving()), or nil before any did */
static int call_left_at(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	if (k->left_at > 0)
		lua_pushnumber(L, k->left_at);
	else
		lua_pushnil(L);
	return 1;
}

/* call:join(domain): the batch or scheduler this call is driven by (see
 * sp_call.domain); before its first step. */
static int call_join(lua_State *L)
{
	sp_call *k = sp_check_call(L, 1);
	lua_Integer d = luaL_checkinteger(L, 2);
	luaL_argcheck(L, d >= 0 && d <= 0xFFFFFFFF, 2, "out of range");
	k->domain = (unsigned)d;
	return 0;
}

/* call:key() -> a light userdata naming this call in batch:poll() */
static int call_key(lua_State *L)
{
	lua_pushlightuserdata(L, sp_check_call(L, 1));
	return 1;
}

static int call_gc(lua_State *L)
{
	sp_call *k = (sp_call *)luaL_checkudata(L, 1, SP_CALL_MT);
	if (k->client) {
		release_fetch(k->client, k);
		sp_http_detach(k);
		if (!k->client->closed)
			sp_pacer_done(&k->client->pacer, &k->ticket, sp_monotime());
	}
	sp_buf_free(&k->target);
	sp_buf_wipe(&k->body);
	sp_buf_free(&k->body);
	sp_mime_free(&k->mime);
	sp_buf_wipe(&k->rejected);
	sp_buf_free(&k->rejected);
	sp_buf_free(&k->resp);
	sp_buf_free(&k->errmsg);
	sp_buf_free(&k->ebody_message);
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
 * client:call(method, path [, query [, body [, opts]]]) -> call
 * opts: { domain = n (0: a plain call), multipart = bool (the body's
 * fields as multipart/form-data), raw = bool (the answer is a file: the
 * result is its bytes) }.
 * Validates and encodes everything up front, so a bad argument raises
 * before anything is sent.
 */
int sp_call_open(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	const char *mname = luaL_checkstring(L, 2);
	size_t plen;
	const char *path, *why;
	int method = method_from_name(mname), multipart = 0, raw = 0;
	lua_Integer domain = 0;
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
	if (lua_istable(L, 6)) {
		lua_getfield(L, 6, "domain");
		domain = lua_tointeger(L, -1);
		lua_getfield(L, 6, "multipart");
		multipart = lua_toboolean(L, -1);
		lua_getfield(L, 6, "raw");
		raw = lua_toboolean(L, -1);
		lua_pop(L, 3);
	}
	if (multipart && !lua_istable(L, 5))
		return luaL_error(L, "sendpulse: bad argument 'body' (a multipart "
			"body is a table of fields)");
	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	lua_settop(L, 5);

	x = (sp_call_ext *)sp_newuserdata(L, sizeof *x);
	memset(x, 0, sizeof *x);
	luaL_getmetatable(L, SP_CALL_MT);
	lua_setmetatable(L, -2);	/* from here __gc frees what we add */
	lua_pushvalue(L, 1);		/* the call keeps its client alive */
	sp_setuservalue(L, -2);
	k = &x->k;
	k->client = c;
	k->method = method;
	k->domain = (unsigned)domain;
	k->raw = raw;
	k->retry_after = -1;
	k->ticket.slot[0] = k->ticket.slot[1] = -1;
	k->state = ST_START;
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
	if (multipart) {
		uint64_t r1 = (uint64_t)(sp_jitter(c) * 9007199254740992.0),
			r2 = (uint64_t)(sp_jitter(c) * 9007199254740992.0);
		snprintf(k->mime.boundary, sizeof k->mime.boundary,
			"sendpulse-%016llx%016llx", (unsigned long long)r1,
			(unsigned long long)r2);
		sp_mime_read(L, 5, &k->mime, c->max_upload_size);
	} else if (lua_istable(L, 5)) {
		if (!sp_json_encode(L, 5, &k->body, "body", err, sizeof err))
			return luaL_error(L, "sendpulse: bad argument 'body' (%s)",
				err);
		k->has_body = 1;
	}
	return 1;
}

void sp_call_register(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "next", call_next },
		{ "run", call_run },
		{ "abort", call_abort },
		{ "set_response", call_set_response },
		{ "set_failure", call_set_failure },
		{ "resent", call_resent },
		{ "perform", call_perform },
		{ "join", call_join },
		{ "leaving", call_leaving },
		{ "left_at", call_left_at },
		{ "wire", call_wire },
		{ "request", call_request },
		{ "outcome", call_outcome },
		{ "key", call_key },
		{ NULL, NULL }
	};
	luaL_newmetatable(L, SP_CALL_MT);
	lua_pushcfunction(L, call_gc);
	lua_setfield(L, -2, "__gc");
	lua_createtable(L, 0, 10);
	sp_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
