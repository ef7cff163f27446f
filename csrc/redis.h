/*
 * redis.h - the core's Redis client (redis.c): RESP2 over TCP or TLS, one
 * command at a time, for the Redis token store and pacer outside nginx.
 */
#ifndef SENDPULSE_REDIS_H
#define SENDPULSE_REDIS_H

#include <stddef.h>

#include "compat.h"

#define SP_REDIS_MT "sendpulse.core.Redis"

#define SP_RESP_MAXDEPTH 32		/* nested arrays accepted in a reply */
#define SP_RESP_LINE_MAX 65536		/* longest status or error line */
#define SP_RESP_NUM_MAX 24		/* longest ':', '$' or '*' line */
#define SP_REDIS_REPLY_DEFAULT ((size_t)16 << 20)
#define SP_REDIS_REPLY_MIN ((size_t)1024)
#define SP_REDIS_REPLY_MAX ((size_t)512 << 20)	/* Redis's own bulk limit */

/* sp_resp_scan results */
enum { SP_RESP_BAD = -1, SP_RESP_MORE = 0, SP_RESP_DONE = 1 };

/* What sp_resp_push pushed for the top-level reply. */
enum {
	SP_RESP_T_STATUS = 1,	/* +OK        -> "OK" */
	SP_RESP_T_ERROR,	/* -ERR x     -> "ERR x" (the caller's nil, msg) */
	SP_RESP_T_INTEGER,	/* :n         -> n (an integer on 5.4) */
	SP_RESP_T_BULK,		/* $n ...     -> the bytes */
	SP_RESP_T_NIL,		/* $-1, *-1   -> false */
	SP_RESP_T_ARRAY		/* *n ...     -> { ... } (nil -> false,
				 *               nested error -> { err = msg }) */
};

/*
 * A resumable scanner: it checks that buf holds one complete, well-formed
 * reply without building anything, so that sp_resp_push never sees a
 * partial or hostile reply. Called again with the same buffer grown by
 * newly received bytes, it resumes where it stopped.
 */
typedef struct sp_resp_scanner {
	size_t pos;		/* start of the element being scanned */
	size_t line_from;	/* where the search for its '\n' resumes */
	int depth;		/* open arrays */
	long long left[SP_RESP_MAXDEPTH];	/* elements each still needs */
} sp_resp_scanner;

void sp_resp_scan_init(sp_resp_scanner *s);

/*
 * Scans buf[0..n): SP_RESP_DONE with *used = the reply's length,
 * SP_RESP_MORE when the reply is not complete yet, SP_RESP_BAD with *why
 * (a constant string) when it is malformed or would exceed max bytes.
 */
int sp_resp_scan(sp_resp_scanner *s, const char *buf, size_t n, size_t max,
	size_t *used, const char **why);

/*
 * Pushes the Lua value of the reply in buf[0..used), which sp_resp_scan
 * accepted, and returns its SP_RESP_T_* type. Raises only on memory errors
 * (buf belongs to the caller and must stay valid).
 */
int sp_resp_push(lua_State *L, const char *buf, size_t used);

/*
 * Adds to the table on the top of the stack:
 *   redis_connect(opts) -> conn | nil, message, kind
 *   random_hex(nbytes)  -> hex string (from the kernel's random source)
 *   sha1_hex(s)         -> hex SHA-1 (Redis names scripts by it)
 * and registers the connection metatable (call, close, connected,
 * set_timeout, __gc, __tostring, __close on 5.4).
 */
void sp_redis_register(lua_State *L);

#endif
