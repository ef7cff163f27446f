/*
 * pacer.c - clocks and client-side pacing.
 *
 * SendPulse allows 10 requests per second per account. A token bucket would
 * let a burst of 10 follow a full bucket right after the previous 10, i.e.
 * 20 in one second; so the pacer keeps the reserved send times of the last
 * N requests (a sliding-window log) and gives the next request the slot
 * max(now, oldest + window). That bounds every window, including windows
 * that straddle seconds, at N requests, while still allowing N at once.
 * The same ring function serves the in-memory pacer here and the pacer
 * shared by nginx workers through a shared dict (state passed as bytes).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
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

/*
 * Reserves the next send slot in ring (cap entries, head = the oldest) and
 * returns how long to wait before sending. Slots never decrease, so the
 * entry at head is always the oldest reservation.
 */
double sp_pacer_reserve(double *ring, int cap, int *head, double window,
	double now)
{
	double slot = ring[*head] + window;
	if (slot < now)
		slot = now;
	ring[*head] = slot;
	*head = (*head + 1) % cap;
	return slot - now;
}

/*
 * The request reserved at slot k->pace_slot is leaving now. A request that
 * left later than its slot (a new connection, a slow machine) must count
 * from when it really left, or the next ones would crowd it.
 */
void sp_pacer_sent(sp_client *c, sp_call *k)
{
	double now;
	if (k->pace_slot < 0 || k->pace_slot >= c->pace_cap || !c->pace_ring)
		return;
	now = sp_monotime();
	if (c->pace_ring[k->pace_slot] < now)
		c->pace_ring[k->pace_slot] = now;
	k->pace_slot = -1;
}

/* How long until the ring has a free slot (0: now), reserving nothing. */
double sp_pacer_wait(const double *ring, int cap, int head, double window,
	double now)
{
	double free_at;
	(void)cap;
	free_at = ring[head] + window;
	return free_at > now ? free_at - now : 0;
}

int sp_pacer_init(sp_client *c, double rate)
{
	int i;
	free(c->pace_ring);
	c->pace_ring = NULL;
	c->pace_cap = 0;
	if (!(rate > 0))
		return 1;
	sp_pacer_shape(rate, &c->pace_cap, &c->pace_window);
	c->pace_ring = malloc(sizeof(double) * (size_t)c->pace_cap);
	if (c->pace_ring == NULL) {
		c->pace_cap = 0;
		return 0;
	}
	for (i = 0; i < c->pace_cap; i++)
		c->pace_ring[i] = -HUGE_VAL;
	c->pace_head = 0;
	return 1;
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
