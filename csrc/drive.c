/*
 * drive.c - the inline driver: runs a call's steps (call.c) in one C
 * call, performing "send" and "sleep"/"wait" itself through the client's
 * sp_io, and stops at the first action only Lua can carry out (a token
 * store, a shared pacer) or at the end. A plain call on the libcurl
 * transport, with neither plugged in, is then one call from Lua.
 *
 * The I/O is behind sp_io so that the call fuzzer runs this very loop
 * with its own scripted server in place of libcurl.
 */
#include "sendpulse.h"

static void sleep_io(double seconds, void *ud)
{
	(void)ud;
	sp_sleep(seconds);
}

void sp_io_default(sp_io *io)
{
	io->perform = sp_http_perform;
	io->sleep = sleep_io;
	io->ud = NULL;
}

/* Steps k from the outcome at argbase (0: none) until an action the
 * driver does not do; returns it (done and fail: the result is pushed). */
int sp_drive(lua_State *L, sp_call *k, int argbase)
{
	sp_client *c = k->client;
	int act = sp_call_step(L, k, argbase);

	for (;;) {
		switch (act) {
		case SP_ACT_SEND:
			c->io.perform(c, k, c->io.ud);
			break;
		case SP_ACT_SLEEP:
		case SP_ACT_WAIT:
			c->io.sleep(k->delay, c->io.ud);
			break;
		default:
			return act;
		}
		act = sp_call_step(L, k, 0);
	}
}
