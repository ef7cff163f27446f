/*
 * sendpulse.h - internal declarations shared by the C core's files.
 *
 * The core is "sans-I/O" at heart: call.c is a state machine that says what
 * to do next (send this request, sleep, ask the token store), and the Lua
 * driver or the libcurl executor in http.c does it. That keeps the token
 * lifecycle, retries, pacing and error translation in one place whatever
 * performs the I/O (libcurl here, nginx cosockets under OpenResty).
 */
#ifndef SENDPULSE_H
#define SENDPULSE_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "compat.h"

#define SP_VERSION "0.2.0"

#define SP_CLIENT_MT "sendpulse.core.Client"
#define SP_CALL_MT "sendpulse.core.Call"
#define SP_ERROR_MT "sendpulse.Error"
#define SP_ARRAY_MT "sendpulse.array"

#define SP_ERROR_BODY_MAX 4096		/* err.body keeps at most this much */
#define SP_ERROR_PATH_MAX 1024		/* and err.path */
#define SP_ERROR_MESSAGE_MAX 4096	/* and err.message */
#define SP_JSON_MAXDEPTH 512		/* decode nesting limit */
#define SP_JSON_ENC_MAXDEPTH 128	/* encode nesting limit (catches cycles) */
#define SP_TOKEN_MAX 16384		/* longest access token accepted */
#define SP_TOKEN_LIFE_MAX 86400.0	/* longest token lifetime believed */
/* A host that loses the shared pacer waits its window and this long more
 * before pacing alone: the fleet's last window of sends is counted only in
 * the shared log, and slots it gave just before failing (up to the Redis
 * pacer's reserve_ahead, 0.1 s by default, plus a late start) may still
 * be leaving. */
#define SP_ALONE_MARGIN 0.25

/* ---- buffer.c ---------------------------------------------------------- */

typedef struct sp_buf {
	char *data;
	size_t len, cap;
} sp_buf;

int sp_buf_reserve(sp_buf *b, size_t extra);
int sp_buf_add(sp_buf *b, const void *p, size_t n);
int sp_buf_adds(sp_buf *b, const char *s);
int sp_buf_addc(sp_buf *b, char c);
int sp_buf_printf(sp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sp_buf_set(sp_buf *b, const void *p, size_t n);
void sp_buf_clear(sp_buf *b);
void sp_buf_wipe(sp_buf *b);
void sp_buf_free(sp_buf *b);
void sp_buf_swap(sp_buf *a, sp_buf *b);
sp_buf *sp_push_scratch(lua_State *L);

/* ---- shared enums ------------------------------------------------------ */

enum sp_method { SP_GET, SP_POST, SP_PUT, SP_PATCH, SP_DELETE };

enum sp_kind {
	SP_KIND_API, SP_KIND_AUTH, SP_KIND_RATE_LIMIT, SP_KIND_HTTP,
	SP_KIND_TIMEOUT, SP_KIND_TLS, SP_KIND_TRANSPORT, SP_KIND_DECODE,
	SP_KIND_CALLBACK
};

extern const char *const sp_method_names[];
extern const char *const sp_kind_names[];

/* ---- the pacer (pacer.c) ----------------------------------------------- */

/* At most cap sends in any span seconds: a ring of the last cap send times
 * (a sliding-window log). */
typedef struct sp_window {
	double *ring;
	int cap;
	double span;
} sp_window;

#define SP_PACER_WINDOWS 2	/* the per-second rate, a per-minute quota */

typedef struct sp_pacer {
	sp_window w[SP_PACER_WINDOWS];
	int nw;
	double fastest;			/* the quickest exchange seen, seconds */
	long long day_quota;		/* 0: none */
	long long day_count;
	long day;			/* the UTC day day_count counts */
} sp_pacer;

/* A request's slots in the pacer's windows, from taken to answered. */
typedef struct sp_pace_ticket {
	int slot[SP_PACER_WINDOWS];	/* -1: none */
	double prev[SP_PACER_WINDOWS];	/* the slot's value before, to give back */
	int pending;			/* taken, not yet sent */
	int sent;			/* sent, its answer not in yet */
	double sent_at;
} sp_pace_ticket;

/* ---- the client -------------------------------------------------------- */

struct sp_call;
struct sp_client;
typedef struct sp_xfer sp_xfer;
typedef struct sp_batch sp_batch;

/* What performs the two kinds of I/O the inline driver (drive.c) does
 * itself. libcurl and nanosleep by default; the call fuzzer plugs in its
 * own, so that it drives the very code a plain call runs. */
typedef struct sp_io {
	void (*perform)(struct sp_client *c, struct sp_call *k, void *ud);
	void (*sleep)(double seconds, void *ud);
	void *ud;
} sp_io;

typedef struct sp_client {
	int closed;
	int oauth;			/* client credentials (1) or API key (0) */

	/* Credentials: malloc'd, wiped before being freed. */
	sp_buf client_id, client_secret, api_key;
	sp_buf token_body;		/* the constant token request body */

	/* Endpoint, from base_url. */
	int tls;			/* https */
	sp_buf host;			/* as written in the URL ([::1] keeps brackets) */
	int port;
	sp_buf origin;			/* scheme://host:port */
	sp_buf base_path;		/* "" or "/prefix" without trailing slash */
	sp_buf token_target;		/* base path + "/oauth/access_token" */

	/* Options. */
	double timeout, connect_timeout;	/* per attempt */
	double call_timeout;		/* a whole call, retries and waits included */
	sp_buf ca_file, proxy, user_agent;
	int ssl_verify;
	int max_retries;
	double retry_delay;		/* first backoff step, seconds */
	double max_retry_wait;		/* longest Retry-After we wait for */
	size_t max_body_size;
	size_t max_upload_size;
	double rate;			/* requests per second, 0: no pacing */
	int fleet_size;			/* hosts sharing the account's rate */
	int plan;			/* 1 + its index in core.c's table, 0 */
	long long quota_minute, quota_day;	/* the plan's quotas, 0: none */
	int has_store;			/* a Lua token store is plugged in */
	int shared_pacer;		/* a Lua pacer is plugged in */
	char store_key[80];		/* "sendpulse:" + hex digest */

	/* Token state (OAuth) or the static key's header (API key). */
	sp_buf token;
	sp_buf prev_token;		/* the one before: still redacted */
	double token_expires;		/* wall-clock epoch seconds */
	double token_leeway;
	unsigned token_gen;		/* bumped whenever the token changes */
	unsigned refresh_gen;		/* a token fetched because of a 401 that
					 * nothing has succeeded with yet */
	int refresh_pending;		/* the next token replaces a refused one */
	sp_buf auth_header;		/* "Authorization: Bearer ..." */
	struct sp_call *fetch_owner;	/* the call fetching a token, if any */
	double fetch_deadline;		/* monotonic; ownership lapses after */
	unsigned next_domain;		/* for batches, see sp_call.domain */

	/* Pacing: the local pacer (also the fallback of a shared one) and the
	 * shape a shared pacer is asked for. */
	sp_pacer pacer;
	int shared_cap;
	double shared_span;
	int shared_down;		/* the shared pacer failed last time */
	int shared_was_up;		/* it answered at least once */
	double alone_from;		/* monotonic: after it failed, having
					 * answered, the host sends alone only
					 * from then */
	double rejoin_until;		/* monotonic: until then, back from a
					 * failure, the local pacer applies too */

	uint64_t rng;			/* xorshift state for backoff jitter */
	sp_io io;

	/* libcurl (http.c). */
	CURLM *multi;			/* single calls, HTTP/1.1 */
	CURLSH *share;
	int tls_tickets;		/* TLS session tickets turned back on (http.c) */
	int server_h2;			/* batches saw HTTP/2: 1, HTTP/1.1: -1, 0 not yet */
	sp_xfer **xfers;
	int nxfers;
	sp_batch *idle_batches;		/* multi handles kept for reuse */
	sp_buf spare;			/* a response buffer to reuse */
} sp_client;

sp_client *sp_check_client(lua_State *L, int idx);
void sp_client_release(sp_client *c);

/* ---- the request (request.c) ------------------------------------------ */

enum { SP_BODY_NONE, SP_BODY_JSON, SP_BODY_MULTIPART };

/* One part of a multipart/form-data body. */
typedef struct sp_part {
	sp_buf name, filename, content_type;
	sp_buf data;			/* the value, or a file's bytes ... */
	sp_buf path;			/* ... or the file to stream from */
	long long size;			/* bytes of the part's content */
} sp_part;

typedef struct sp_mime {
	sp_part *parts;
	int nparts;
	char boundary[48];
} sp_mime;

/* Everything about one attempt of a request, filled once when it is sent
 * (sp_request_fill) and read by the libcurl executor (http.c) and by the
 * wire encoder for Lua transports (wire.c). */
typedef struct sp_request {
	int method;			/* on the wire */
	const char *target;		/* base path + path [+ ?query] */
	size_t target_len;
	int auth;			/* send the Authorization header */
	int body_kind;
	const char *body;		/* SP_BODY_JSON */
	size_t body_len;
	const sp_mime *mime;		/* SP_BODY_MULTIPART */
	int send_once;			/* must not reach the server twice */
	int accept_any;			/* the answer is a file, not JSON */
	double timeout, connect_timeout;	/* this attempt's, seconds */
} sp_request;

struct sp_call;
void sp_request_fill(struct sp_call *k, double left);
int sp_mime_read(lua_State *L, int idx, sp_mime *m, size_t max_size);
void sp_mime_free(sp_mime *m);
int sp_mime_encode(const sp_mime *m, sp_buf *out, char *err, size_t errlen);
long long sp_mime_length(const sp_mime *m);

/* ---- the call (call.c) ------------------------------------------------- */

/* What a call asks its driver to do next. */
enum sp_action {
	SP_ACT_SEND, SP_ACT_SLEEP, SP_ACT_WAIT, SP_ACT_PACE, SP_ACT_GET,
	SP_ACT_LOCK, SP_ACT_SET, SP_ACT_DELETE, SP_ACT_UNLOCK, SP_ACT_DONE,
	SP_ACT_FAIL
};

/* What happened to the caller's request, as far as the client knows
 * (err.sent): it never reached the server or was refused unprocessed;
 * the server answered it; or it may have been processed without an
 * answer saying so. Ordered: a call's fate is the worst of its attempts. */
enum { SP_FATE_NO, SP_FATE_YES, SP_FATE_MAYBE };

/* Error bodies are decoded for their error_code and message only up to
 * this size; larger ones are reported as they are. */
#define SP_ERROR_DECODE_MAX 65536

typedef struct sp_call {
	sp_client *client;
	int method;
	int state, cont;
	int action;			/* the last step's enum sp_action */
	double delay;			/* for SP_ACT_SLEEP / SP_ACT_WAIT */
	unsigned domain;		/* calls wait for a token fetch only in
					 * their own domain: 0 never (a plain
					 * call), else a batch or the nginx
					 * worker */
	double deadline;		/* monotonic, from call_timeout; 0 unset */
	int retries;			/* retries spent */
	int attempts;			/* API requests transmitted */
	int token_fetches;		/* token requests made for this call */
	int refreshed;			/* the one 401 refresh was used */
	int locked;			/* holds the store lock */
	unsigned used_gen;		/* token generation sent with the request */
	int req_is_token;		/* the request in flight is the token fetch */
	int fate;			/* worst SP_FATE_ of the API attempts */
	sp_pace_ticket ticket;		/* its place in the local pacer */
	int pace_local;			/* pace this request locally (the shared
					 * pacer is unavailable) */
	double attempt_start;		/* monotonic */
	double left_at;			/* monotonic: when the latest attempt's
					 * request left (after connecting);
					 * 0 before any */

	sp_buf target;			/* path?query, base path included */
	sp_buf body;
	int has_body;
	sp_mime mime;			/* a multipart body instead */
	int raw;			/* the result is the body as it came */
	sp_buf rejected;		/* the token a 401 rejected */
	sp_request req;			/* the attempt in flight */

	/* Response of the request in flight. */
	int status;			/* 0 when no response */
	int failure;			/* transport failure code (CURLcode numbering) */
	int sent;			/* the request may have reached the server */
	double retry_after;		/* from the header, -1 when absent */
	sp_buf resp;
	sp_buf errmsg;			/* transport failure detail */

	/* The error body, decoded once (errors.c). */
	int ebody_read;
	int ebody_json, ebody_has_code, ebody_big;
	long long ebody_code;
	sp_buf ebody_message;
	char ebody_where[128];		/* where a non-JSON body broke */

	sp_buf wire;			/* raw HTTP/1.1 request for Lua transports */
	sp_xfer *xfer;			/* libcurl transfer serving it (http.c) */
} sp_call;

sp_call *sp_check_call(lua_State *L, int idx);
int sp_call_open(lua_State *L);
void sp_call_register(lua_State *L);
int sp_call_step(lua_State *L, sp_call *k, int argbase);
int sp_call_push_action(lua_State *L, sp_call *k);

/* ---- drive.c (the inline driver) --------------------------------------- */

int sp_drive(lua_State *L, sp_call *k, int argbase);
void sp_io_default(sp_io *io);

/* ---- http.c (libcurl) -------------------------------------------------- */

int sp_http_global_init(void);
void sp_http_perform(sp_client *c, sp_call *k, void *ud);
int sp_http_start(sp_client *c, sp_call *k, CURLM *multi);
void sp_http_detach(sp_call *k);
void sp_http_cleanup(sp_client *c);
void sp_batch_register(lua_State *L);
int sp_batch_open(lua_State *L);

/* ---- the Lua functions of each file (core.c registers them) ----------- */

extern const luaL_Reg sp_json_funcs[], sp_url_funcs[], sp_wire_funcs[],
	sp_pacer_funcs[], sp_file_funcs[], sp_base64_funcs[], sp_sha256_funcs[];
void sp_failure_codes_register(lua_State *L);

/* ---- url.c ------------------------------------------------------------- */

const char *sp_parse_base_url(sp_client *c, const char *url, size_t len);
int sp_escape_segment(sp_buf *b, const char *s, size_t n);
int sp_is_dot_segment(const char *s, size_t n);
const char *sp_check_path(const char *p, size_t n);
void sp_encode_query(lua_State *L, int idx, sp_buf *b, const char *argname);
const char *sp_check_header_value(const char *s, size_t n);

/* ---- wire.c ------------------------------------------------------------ */

int sp_header_split(const char *line, size_t n, const char **name,
	size_t *nlen, const char **value, size_t *vlen);
double sp_parse_retry_after(const char *v, size_t n, double now);
int sp_wire_request(sp_call *k, char *err, size_t errlen);
int sp_parse_head(lua_State *L, const char *s, size_t n);

/* ---- json.c ------------------------------------------------------------ */

int sp_json_decode(lua_State *L, const char *s, size_t n, int maxdepth,
	char *err, size_t errlen);
/* A decoded response may take SP_DECODE_FACTOR times its size in memory,
 * plus SP_DECODE_BASE bytes: API answers take 3-14 times their size (an
 * array of small numbers the most), a body of nothing but empty arrays 28
 * times. */
#define SP_DECODE_FACTOR 8
#define SP_DECODE_BASE (64u << 20)
int sp_json_decode_budget(lua_State *L, const char *s, size_t n, char *err,
	size_t errlen);
int sp_json_encode(lua_State *L, int idx, sp_buf *out, const char *root,
	char *err, size_t errlen);
int sp_json_string(sp_buf *out, const char *s, size_t n);
size_t sp_json_unescape(const char *p, const char *end, unsigned char *out,
	int *outlen);
void sp_format_double(char *buf, size_t n, double v);
int sp_utf8_valid(const char *s, size_t n);

/* ---- redact.c ---------------------------------------------------------- */

#define SP_SECRETS_MAX 6
#define SP_SECRET_MIN 8			/* shorter credentials are refused */

typedef struct sp_secrets {
	const char *s[SP_SECRETS_MAX];
	size_t n[SP_SECRETS_MAX];
	int count;
	size_t longest;
} sp_secrets;

void sp_secrets_of(sp_client *c, struct sp_call *k, sp_secrets *out);
void sp_push_redacted(lua_State *L, const sp_secrets *sec, const char *text,
	size_t n, size_t limit);

/* ---- errors.c ---------------------------------------------------------- */

typedef struct sp_errinfo {
	int kind;
	int status;			/* 0: no response */
	int has_code;
	long long code;
	const char *message;
	size_t message_len;
	double retry_after;		/* < 0: absent */
	const char *body;
	size_t body_len;
	const char *method, *path;	/* path: path_len bytes */
	size_t path_len;
	const char *quota;		/* rate limits: which one, or NULL */
} sp_errinfo;

const char *sp_seed_error_text(long long code);
void sp_push_error(lua_State *L, sp_client *c, const sp_errinfo *e);
void sp_push_error_k(lua_State *L, sp_client *c, sp_call *k,
	const sp_errinfo *e);
int sp_response_error_code(lua_State *L, struct sp_call *k, long long *code);
void sp_push_response_error(lua_State *L, sp_call *k, int kind_hint,
	double retry_after);
void sp_push_failure_error(lua_State *L, sp_call *k);
void sp_push_plain_error(lua_State *L, sp_call *k, int kind,
	const char *message);
void sp_push_quota_error(lua_State *L, sp_call *k, const char *quota,
	double retry_after, const char *message);
const char *sp_fate_name(int fate);
int sp_failure_kind(int code);
void sp_errors_register(lua_State *L);

/* ---- token.c ----------------------------------------------------------- */

int sp_token_init(sp_client *c);
int sp_token_usable(sp_client *c, double now);
int sp_token_install(sp_client *c, const char *tok, size_t n, double expires_at);
void sp_token_drop(sp_client *c);
int sp_token_parse(lua_State *L, sp_call *k, double *expires_in,
	const char **why);
int sp_token_acceptable(const char *tok, size_t n);
int sp_token_chars_ok(const char *tok, size_t n);

/* ---- pacer.c ----------------------------------------------------------- */

double sp_monotime(void);
double sp_walltime(void);
void sp_sleep(double seconds);
void sp_pacer_shape(double rate, int *cap, double *window);
int sp_pacer_init(sp_pacer *p, double rate, long long per_minute,
	long long per_day);
void sp_pacer_free(sp_pacer *p);
double sp_pacer_wait(const sp_pacer *p, double now);
void sp_pacer_take(sp_pacer *p, sp_pace_ticket *t);
void sp_pacer_record(sp_pacer *p, sp_pace_ticket *t);
int sp_pacer_init_shape(sp_pacer *p, int cap, double span,
	long long per_minute, long long per_day);
void sp_pacer_giveback(sp_pacer *p, sp_pace_ticket *t);
void sp_pacer_sent(sp_pacer *p, sp_pace_ticket *t, double now);
void sp_pacer_done(sp_pacer *p, sp_pace_ticket *t, double now);
int sp_pacer_day_left(sp_pacer *p, double wall, double *renew_in);
double sp_jitter(sp_client *c);

/* ---- sha256.c ---------------------------------------------------------- */

void sp_sha256(const void *data, size_t n, unsigned char out[32]);
void sp_sha256_hex(const void *data, size_t n, char out[65]);

/* ---- base64.c ---------------------------------------------------------- */

int sp_base64_encode(lua_State *L);
int sp_base64_decode(lua_State *L);

/* ---- file.c ------------------------------------------------------------ */

int sp_write_private_file(lua_State *L);
int sp_read_private_file(lua_State *L);
int sp_make_private_dir(lua_State *L);
int sp_lock_file(lua_State *L);

#endif
