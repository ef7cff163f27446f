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

#define SP_VERSION "0.1.0"

#define SP_CLIENT_MT "sendpulse.core.Client"
#define SP_CALL_MT "sendpulse.core.Call"
#define SP_ERROR_MT "sendpulse.Error"
#define SP_ARRAY_MT "sendpulse.array"

#define SP_ERROR_BODY_MAX 4096		/* err.body keeps at most this much */
#define SP_ERROR_PATH_MAX 1024		/* and err.path */
#define SP_JSON_MAXDEPTH 512		/* decode nesting limit */
#define SP_JSON_ENC_MAXDEPTH 128	/* encode nesting limit (catches cycles) */
#define SP_TOKEN_MAX 16384		/* longest access token accepted */

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

/* ---- shared enums ------------------------------------------------------ */

enum sp_method { SP_GET, SP_POST, SP_PUT, SP_PATCH, SP_DELETE };

enum sp_kind {
	SP_KIND_API, SP_KIND_AUTH, SP_KIND_RATE_LIMIT, SP_KIND_HTTP,
	SP_KIND_TIMEOUT, SP_KIND_TLS, SP_KIND_TRANSPORT, SP_KIND_DECODE
};

extern const char *const sp_method_names[];
extern const char *const sp_kind_names[];

/* ---- the client -------------------------------------------------------- */

struct sp_call;
typedef struct sp_xfer sp_xfer;

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
	double timeout, connect_timeout;
	sp_buf ca_file, proxy, user_agent;
	int ssl_verify;
	int max_retries;
	double retry_delay;		/* first backoff step, seconds */
	double max_retry_wait;		/* longest Retry-After we wait for */
	size_t max_body_size;
	int has_store;			/* a Lua token store is plugged in */
	int shared_pacer;		/* a Lua pacer is plugged in */
	char store_key[80];		/* "sendpulse:" + hex digest */

	/* Token state (OAuth) or the static key's header (API key). */
	sp_buf token;
	sp_buf prev_token;		/* the one before: still redacted */
	double token_expires;		/* wall-clock epoch seconds */
	double token_leeway;
	unsigned token_gen;		/* bumped whenever the token changes */
	sp_buf auth_header;		/* "Authorization: Bearer ..." */
	struct sp_call *fetch_owner;	/* the call fetching a token, if any */
	double fetch_deadline;		/* monotonic; ownership lapses after */

	/* Local pacer: a ring of the last reserved send times. */
	double *pace_ring;
	int pace_cap, pace_head;
	double pace_window;

	uint64_t rng;			/* xorshift state for backoff jitter */

	/* libcurl (http.c). */
	CURLM *multi;			/* single calls, HTTP/1.1 */
	CURLM *batch_multi;		/* batches, HTTP/2 when offered */
	CURLSH *share;
	sp_xfer **xfers;
	int nxfers;
	sp_buf spare;			/* a response buffer to reuse */
} sp_client;

sp_client *sp_check_client(lua_State *L, int idx);
void sp_client_release(sp_client *c);

/* ---- the call (call.c) ------------------------------------------------- */

typedef struct sp_call {
	sp_client *client;
	int method;
	int state, cont;
	int retries;			/* retries spent */
	int attempts;			/* requests transmitted */
	int token_fetches;		/* token requests made for this call */
	int refreshed;			/* the one 401 refresh was used */
	int locked;			/* holds the store lock */
	unsigned used_gen;		/* token generation sent with the request */
	int req_is_token;		/* the request in flight is the token fetch */
	double last_delay;
	int pace_slot;			/* its entry in the pacer's ring, or -1 */

	sp_buf target;			/* path?query, base path included */
	sp_buf body;
	int has_body;
	sp_buf rejected;		/* the token a 401 rejected */

	/* Response of the request in flight. */
	int status;			/* 0 when no response */
	int failure;			/* transport failure code (CURLcode numbering) */
	int sent;			/* the request may have reached the server */
	double retry_after;		/* from the header, -1 when absent */
	sp_buf resp;
	sp_buf errmsg;			/* transport failure detail */

	sp_buf wire;			/* raw HTTP/1.1 request for Lua transports */
	sp_xfer *xfer;			/* libcurl transfer serving it (http.c) */
} sp_call;

sp_call *sp_check_call(lua_State *L, int idx);
int sp_call_open(lua_State *L);
int sp_call_start(lua_State *L);
void sp_call_register(lua_State *L);

/* ---- http.c (libcurl) -------------------------------------------------- */

int sp_http_global_init(void);
int sp_http_perform(sp_client *c, sp_call *k);
int sp_http_start(sp_client *c, sp_call *k, int multiplex);
int sp_http_poll(lua_State *L, sp_client *c, double timeout);
void sp_http_detach(sp_call *k);
void sp_http_cleanup(sp_client *c);

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
int sp_wire_request(sp_call *k);
int sp_parse_head(lua_State *L, const char *s, size_t n);

/* ---- json.c ------------------------------------------------------------ */

int sp_json_decode(lua_State *L, const char *s, size_t n, int maxdepth,
	char *err, size_t errlen);
int sp_json_encode(lua_State *L, int idx, sp_buf *out, const char *root,
	char *err, size_t errlen);
int sp_json_string(sp_buf *out, const char *s, size_t n);
void sp_format_double(char *buf, size_t n, double v);
int sp_utf8_valid(const char *s, size_t n);

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

/* ---- pacer.c ----------------------------------------------------------- */

double sp_monotime(void);
double sp_walltime(void);
void sp_sleep(double seconds);
int sp_pacer_init(sp_client *c, double rate);
double sp_pacer_reserve(double *ring, int cap, int *head, double window,
	double now);
void sp_pacer_sent(sp_client *c, sp_call *k);
double sp_pacer_wait(const double *ring, int cap, int head, double window,
	double now);
void sp_pacer_shape(double rate, int *cap, double *window);
double sp_jitter(sp_client *c);

/* ---- sha256.c ---------------------------------------------------------- */

void sp_sha256(const void *data, size_t n, unsigned char out[32]);
void sp_sha256_hex(const void *data, size_t n, char out[65]);

/* ---- base64.c ---------------------------------------------------------- */

int sp_base64_encode(lua_State *L);
int sp_base64_decode(lua_State *L);

/* ---- file.c ------------------------------------------------------------ */

int sp_write_private_file(lua_State *L);
int sp_make_private_dir(lua_State *L);

#endif
