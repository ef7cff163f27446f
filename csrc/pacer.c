/*
 * pacer.c - clocks and client-side pacing.
 *
 * SendPulse allows 10 requests per second per account, and a per-minute
 * and per-day quota by plan. A token bucket would let a burst of 10
 * follow a full bucket right after the previous 10, i.e. 20 in one
 * second; so each limit is a window that keeps the send times of the last
 * N requests (a sliding-window log) and gives the next request the slot
 * max(now, oldest + span). That bounds every window, including windows
 * that straddle seconds, at N requests, while still allowing N at once.
 * The day's quota is a count per UTC day: once spent, calls stop until
 * the day renews. The same window arithmetic serves the in-process pacer
 * here and the pacer shared by nginx workers through a shared dict (state
 * passed as bytes, core.pacer_take and core.pacer_stamp).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sendpulse.h"

/*
 * Requests are stamped when they leave us but counted when they arrive;
 * a new connection's TLS handshake delays one arrival more than another's.
 * A little slack on the window absorbs that jitter.
 */
#define SP_PACE_SLACK 0.02

double sp_monotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sp_walltime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sp_sleep(double seconds)
{
	struct timespec ts, rem;
	if (!(seconds > 0))
		return;
	if (seconds > 86400.0 * 365)
		seconds = 86400.0 * 365;	/* keep the conversion defined */
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

/* N requests per window, from a rate in requests per second. */
void sp_pacer_shape(double rate, int *cap, double *window)
{
	double n = floor(rate);
	if (n < 1)
		n = 1;
	if (n > 10000)
		n = 10000;
	*cap = (int)n;
	*window = n / rate + SP_PACE_SLACK;
}

static int window_init(sp_window *w, int cap, double span)
{
	int i;
	w->ring = malloc(sizeof(double) * (size_t)cap);
	if (w->ring == NULL)
		return 0;
	for (i = 0; i < cap; i++)
		w->ring[i] = -HUGE_VAL;
	w->cap = cap;
	w->span = span;
	return 1;
}

void sp_pacer_free(sp_pacer *p)
{
	int i;
	for (i = 0; i < p->nw; i++) {
		free(p->w[i].ring);
		p->w[i].ring = NULL;
	}
	p->nw = 0;
	p->day_quota = 0;
}

/* cap requests per span seconds (cap 0: no rate); per_minute, per_day:
 * quotas (0: none). Returns 0 on memory exhaustion. */
int sp_pacer_init_shape(sp_pacer *p, int cap, double span,
	long long per_minute, long long per_day)
{
	sp_pacer_free(p);
	if (cap > 0) {
		if (!window_init(&p->w[p->nw], cap, span))
			return 0;
		p->nw++;
	}
	if (per_minute > 0) {
		if (!window_init(&p->w[p->nw], (int)per_minute,
				60.0 + SP_PACE_SLACK))
			return 0;
		p->nw++;
	}
	p->day_quota = per_day;
	p->day_count = 0;
	p->day = -1;
	p->fastest = HUGE_VAL;
	return 1;
}

/* rate: requests per second (0: none); per_minute, per_day: quotas (0:
 * none). Returns 0 on memory exhaustion. */
int sp_pacer_init(sp_pacer *p, double rate, long long per_minute,
	long long per_day)
{
	int cap = 0;
	double span = 0;
	if (rate > 0)
		sp_pacer_shape(rate, &cap, &span);
	return sp_pacer_init_shape(p, cap, span, per_minute, per_day);
}

/*
 * The in-process pacer is a sliding-window log proper. A slot taken and
 * not yet sent holds PENDING (the request may leave any moment: it is in
 * every window until it has); the real send stamps it (libcurl's
 * pre-request callback, a Lua transport's call:leaving()); the slot that
 * frees first is the oldest entry, wherever it is in the ring (sends are
 * not stamped in the order slots were taken). Once the answer is in, the
 * entry moves later by how much slower than the fastest recent exchange
 * this one was: an upper bound on how much later than usual it may have
 * reached the server (jitter on the way there), so that under jitter the
 * server still never counts more than cap in a window, and without jitter
 * the whole budget is used.
 */
#define PENDING HUGE_VAL
#define ALL_PENDING_POLL 0.005	/* every slot in flight: look again soon */
#define MARGIN_MAX 0.5		/* the most an entry is moved later */

static int oldest(const sp_window *w)
{
	int i, best = 0;
	for (i = 1; i < w->cap; i++)
		if (w->ring[i] < w->ring[best])
			best = i;
	return best;
}

/* How long until every window has a free slot (0: now), reserving
 * nothing. */
double sp_pacer_wait(const sp_pacer *p, double now)
{
	double wait = 0;
	int i;
	for (i = 0; i < p->nw; i++) {
		const sp_window *w = &p->w[i];
		double t = w->ring[oldest(w)], free_at;
		if (t == PENDING)
			free_at = now + ALL_PENDING_POLL;
		else
			free_at = t + w->span;
		if (free_at - now > wait)
			wait = free_at - now;
	}
	return wait;
}

/* Takes a slot now in every window (after sp_pacer_wait said 0). */
void sp_pacer_take(sp_pacer *p, sp_pace_ticket *t)
{
	int i;
	for (i = 0; i < SP_PACER_WINDOWS; i++) {
		t->slot[i] = -1;
		if (i < p->nw) {
			sp_window *w = &p->w[i];
			t->slot[i] = oldest(w);
			t->prev[i] = w->ring[t->slot[i]];
			w->ring[t->slot[i]] = PENDING;
		}
	}
	t->pending = 1;
	t->sent = 0;
}

/* A request the shared pacer let through: it takes a slot in every window
 * all the same (the oldest, whether or not a window has passed since it),
 * so that the local pacer knows this host's latest sends when it has to
 * stand in for the shared one: a fallback right after does not burst on
 * top of them. A window whose every slot is in flight is left alone. */
void sp_pacer_record(sp_pacer *p, sp_pace_ticket *t)
{
	int i;
	for (i = 0; i < SP_PACER_WINDOWS; i++) {
		t->slot[i] = -1;
		if (i < p->nw) {
			sp_window *w = &p->w[i];
			int s = oldest(w);
			if (w->ring[s] == PENDING)
				continue;
			t->slot[i] = s;
			t->prev[i] = w->ring[s];
			w->ring[s] = PENDING;
		}
	}
	t->pending = 1;
	t->sent = 0;
}

/* The request was not sent after all (its token expired while it waited):
 * its slots go back as they were. */
void sp_pacer_giveback(sp_pacer *p, sp_pace_ticket *t)
{
	int i;
	if (!t->pending)
		return;
	for (i = 0; i < p->nw && i < SP_PACER_WINDOWS; i++)
		if (t->slot[i] >= 0 && t->slot[i] < p->w[i].cap &&
				p->w[i].ring[t->slot[i]] == PENDING)
			p->w[i].ring[t->slot[i]] = t->prev[i];
	t->pending = 0;
}

/* The request is leaving now: its slots count from this moment. */
void sp_pacer_sent(sp_pacer *p, sp_pace_ticket *t, double now)
{
	int i;
	if (!t->pending)
		return;	/* (libcurl resending: the first send counts) */
	for (i = 0; i < p->nw && i < SP_PACER_WINDOWS; i++)
		if (t->slot[i] >= 0 && t->slot[i] < p->w[i].cap)
			p->w[i].ring[t->slot[i]] = now;
	t->pending = 0;
	t->sent = 1;
	t->sent_at = now;
}

/* The exchange is over (answered, failed or cut off): the jitter margin
 * (see above), against the fastest exchange this client has seen. When a
 * faster one comes, the entries still in their windows were given too
 * little: they move later by the difference. A request never stamped as
 * sent counts as sent now. */
void sp_pacer_done(sp_pacer *p, sp_pace_ticket *t, double now)
{
	double lat, margin;
	int i, j;

	if (t->pending) {
		sp_pacer_sent(p, t, now);
		t->sent = 0;
		return;
	}
	if (!t->sent)
		return;
	t->sent = 0;
	lat = now - t->sent_at;
	if (!(lat < p->fastest)) {
		margin = lat - p->fastest;
	} else {
		double shift = p->fastest - lat;
		if (p->fastest < HUGE_VAL) {
			if (shift > MARGIN_MAX)
				shift = MARGIN_MAX;
			for (i = 0; i < p->nw; i++)
				for (j = 0; j < p->w[i].cap; j++)
					if (p->w[i].ring[j] != PENDING &&
							p->w[i].ring[j] > now - p->w[i].span)
						p->w[i].ring[j] += shift;
		}
		p->fastest = lat;
		margin = 0;
	}
	if (margin > MARGIN_MAX)
		margin = MARGIN_MAX;
	/* (a slot cannot be taken again before it frees, a span after its
	 * send: before that it is surely still this request's) */
	for (i = 0; i < p->nw && i < SP_PACER_WINDOWS; i++) {
		double *e;
		if (t->slot[i] < 0 || t->slot[i] >= p->w[i].cap ||
				now >= t->sent_at + p->w[i].span)
			continue;
		e = &p->w[i].ring[t->slot[i]];
		if (*e < t->sent_at + margin)
			*e = t->sent_at + margin;
	}
}

/* Is there any of the day's quota left? When not, *renew_in is the time
 * until the next UTC midnight. */
int sp_pacer_day_left(sp_pacer *p, double wall, double *renew_in)
{
	long day;
	if (p->day_quota <= 0)
		return 1;
	day = (long)floor(wall / 86400.0);
	if (day != p->day) {
		p->day = day;
		p->day_count = 0;
	}
	if (p->day_count < p->day_quota)
		return 1;
	*renew_in = (double)(day + 1) * 86400.0 - wall;
	return 0;
}

/* A factor in [0.5, 1): backoff delays are spread so clients that failed
 * together do not retry together. */
double sp_jitter(sp_client *c)
{
	uint64_t x = c->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return 0.5 + (double)((x * 2685821657736338717ULL) >> 11) /
		9007199254740992.0 / 2;
}

/* ---- Lua functions ---------------------------------------------------- */

/*
 * A ring serialised for pacers that keep their state outside this process
 * (an nginx shared dict): cap doubles, the send times (or, for a slot
 * taken and not yet sent, the time until which it is held), then an int
 * kept for the format's sake. Pending slots hold a time in the future
 * rather than PENDING, so that a worker that died between taking a slot
 * and sending frees it after a while.
 */
static double *ring_load(lua_State *L, int idx, lua_Integer cap, size_t *need)
{
	size_t n;
	const char *state = luaL_optlstring(L, idx, NULL, &n);
	double *ring;
	lua_Integer i;

	luaL_argcheck(L, cap >= 1 && cap <= 10000, idx + 1, "out of range");
	*need = sizeof(double) * (size_t)cap + sizeof(int);
	ring = (double *)lua_newuserdata(L, *need);
	if (state && n == *need) {
		memcpy(ring, state, *need);
	} else {
		for (i = 0; i < cap; i++)
			ring[i] = -HUGE_VAL;
		memset((char *)ring + sizeof(double) * (size_t)cap, 0, sizeof(int));
	}
	return ring;
}

/***
 * Takes a send slot in a serialised ring if one is free now: the oldest
 * entry, once a window has passed since it. The slot is held until
 * hold_until, or until pacer_stamp gives it its real send time.
 * @function pacer_take
 * @tparam string|nil state the ring (nil: empty)
 * @tparam integer cap requests per window
 * @tparam number window seconds
 * @tparam number now a clock shared by every user of the state
 * @tparam number hold_until when a slot never stamped counts as sent
 * @return the new state, 0 and the slot (1-based); or the state unchanged
 *   and how long until a slot frees
 */
static int core_pacer_take(lua_State *L)
{
	lua_Integer cap = luaL_checkinteger(L, 2);
	double window = (double)luaL_checknumber(L, 3);
	double now = (double)luaL_checknumber(L, 4);
	double hold = (double)luaL_checknumber(L, 5);
	size_t need;
	double *ring = ring_load(L, 1, cap, &need);
	lua_Integer i, best = 0;

	for (i = 1; i < cap; i++)
		if (ring[i] < ring[best])
			best = i;
	if (ring[best] + window > now) {
		lua_pushlstring(L, (const char *)ring, need);
		lua_pushnumber(L, ring[best] + window - now);
		return 2;
	}
	ring[best] = hold > now ? hold : now;
	lua_pushlstring(L, (const char *)ring, need);
	lua_pushnumber(L, 0);
	lua_pushinteger(L, best + 1);
	return 3;
}

/***
 * Gives a slot taken by pacer_take its send time, if it still holds what
 * pacer_take put there (otherwise it was freed and taken again: left).
 * @function pacer_stamp
 * @tparam string|nil state the ring
 * @tparam integer cap requests per window
 * @tparam integer slot as pacer_take returned it
 * @tparam number held the hold_until given to pacer_take
 * @tparam number at the send time
 * @return the new state, or nil when the slot is no longer this one's
 */
static int core_pacer_stamp(lua_State *L)
{
	lua_Integer cap = luaL_checkinteger(L, 2);
	lua_Integer slot = luaL_checkinteger(L, 3);
	double held = (double)luaL_checknumber(L, 4);
	double at = (double)luaL_checknumber(L, 5);
	size_t need;
	double *ring = ring_load(L, 1, cap, &need);

	if (slot < 1 || slot > cap || ring[slot - 1] != held) {
		lua_pushnil(L);
		return 1;
	}
	if (at < held)
		ring[slot - 1] = at;
	lua_pushlstring(L, (const char *)ring, need);
	return 1;
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

static int core_sleep(lua_State *L)
{
	sp_sleep((double)luaL_checknumber(L, 1));
	return 0;
}

const luaL_Reg sp_pacer_funcs[] = {
	{ "pacer_take", core_pacer_take },
	{ "pacer_stamp", core_pacer_stamp },
	{ "pacer_shape", core_pacer_shape },
	{ "monotime", core_monotime },
	{ "walltime", core_walltime },
	{ "sleep", core_sleep },
	{ NULL, NULL }
};
