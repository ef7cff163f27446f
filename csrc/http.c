/*
 * http.c - the libcurl executor for "send".
 *
 * A client has two multi handles, each with its connection cache: one for
 * single calls, over HTTP/1.1 (one request at a time gains nothing from
 * HTTP/2, which costs libcurl 7.88 a quarter more work per request), and
 * one for batches, over HTTP/2 when the server offers it, many requests
 * multiplexed on one connection (libcurl would otherwise hand a batch the
 * single calls' HTTP/1.1 connection and open parallel ones beside it).
 * TLS sessions and DNS are shared by both. Easy handles are pooled: a
 * sequential client uses one; a batch uses as many as it has in flight.
 * Options that never change are set once per easy handle; per request we
 * only set the URL, the method, the body and a header list that is
 * rebuilt only when the token changes.
 */
#define _GNU_SOURCE		/* POLLRDHUP */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

/* Header list variants: with or without Authorization, with or without a
 * JSON body. */
#define HDR_AUTH 1
#define HDR_JSON 2

struct sp_xfer {
	CURL *easy;
	sp_client *client;
	sp_call *call;			/* the call served, NULL when idle */
	sp_buf body;
	sp_buf url;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs[4];
	unsigned hdrs_gen[4];
	double retry_after;
	int too_large;
	int send_once;			/* the request must not be sent twice */
	int sends;			/* times libcurl started sending it */
	int resend_refused;
	curl_socket_t last_fd;		/* the connection used last, or BAD */
	CURLM *in_multi;		/* the multi handle it is in, or NULL */
	int done;
	CURLcode result;
};

int sp_http_global_init(void)
{
	/* The one piece of process-wide state: libcurl's own global init,
	 * done once. curl_global_init is thread-safe since 7.84. */
	static int done;
	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return 0;
		done = 1;
	}
	return 1;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	sp_xfer *t = ud;
	size_t n = size * nmemb;
	if (t->body.len + n > t->client->max_body_size) {
		t->too_large = 1;
		return 0;	/* aborts with CURLE_WRITE_ERROR */
	}
	if (!sp_buf_add(&t->body, p, n))
		return 0;
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	sp_xfer *t = ud;
	size_t n = size * nmemb;
	const char *name, *value;
	size_t nlen, vlen;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new response (after a 100 or a proxy's 200): start over */
		t->retry_after = -1;
		sp_buf_clear(&t->body);
		return n;
	}
	/* only two headers matter: skip the others without parsing them */
	if (n == 0 || ((p[0] | 0x20) != 'r' && (p[0] | 0x20) != 'c'))
		return n;
	if (!sp_header_split(p, n, &name, &nlen, &value, &vlen))
		return n;
	if (nlen == 11 && strncasecmp(name, "Retry-After", 11) == 0) {
		t->retry_after = sp_parse_retry_after(value, vlen, sp_walltime());
	} else if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
		/* refuse an oversized body before receiving it */
		char num[32];
		if (vlen < sizeof num) {
			memcpy(num, value, vlen);
			num[vlen] = '\0';
			if (strtod(num, NULL) > (double)t->client->max_body_size) {
				t->too_large = 1;
				return 0;
			}
		}
	}
	return n;
}

/*
 * libcurl resends a request by itself when a reused connection turns out
 * dead before any response byte arrived. Right for a GET; for a POST the
 * server may have acted on the first copy, so the second is refused here
 * and the call fails instead ("never send twice what may have been done").
 */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip,
	int conn_primary_port, int conn_local_port)
{
	sp_xfer *t = ud;
	(void)conn_primary_ip; (void)conn_local_ip;
	(void)conn_primary_port; (void)conn_local_port;
	if (t->call)
		sp_pacer_sent(t->client, t->call);
	if (t->send_once && t->sends++ > 0) {
		t->resend_refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

static void xfer_free(sp_xfer *t)
{
	int i;
	if (t->easy) {
		if (t->in_multi)
			curl_multi_remove_handle(t->in_multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	for (i = 0; i < 4; i++)
		curl_slist_free_all(t->hdrs[i]);
	sp_buf_free(&t->body);
	sp_buf_free(&t->url);
	free(t);
}

static CURLM *new_multi(int multiplex)
{
	CURLM *m = curl_multi_init();
	if (m == NULL)
		return NULL;
	curl_multi_setopt(m, CURLMOPT_PIPELINING,
		multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
	/* Keep idle connections: by default the cache holds 4 per handle in
	 * the multi handle, and ours leave it after each transfer, so a
	 * batch's parallel connections were closed and opened again, with a
	 * new TLS handshake each time. */
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 64L);
	return m;
}

static int setup_client(sp_client *c)
{
	if (c->multi)
		return 1;
	c->share = curl_share_init();
	c->multi = new_multi(0);
	c->batch_multi = new_multi(1);
	if (!c->multi || !c->batch_multi || !c->share)
		return 0;
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 1;
}

static sp_xfer *xfer_new(sp_client *c)
{
	sp_xfer *t = calloc(1, sizeof *t), **grown;
	CURL *e;
	long ms;

	if (t == NULL)
		return NULL;
	t->client = c;
	t->last_fd = CURL_SOCKET_BAD;
	t->easy = e = curl_easy_init();
	grown = realloc(c->xfers, sizeof *grown * (size_t)(c->nxfers + 1));
	if (e == NULL || grown == NULL) {
		if (grown)
			c->xfers = grown;
		xfer_free(t);
		return NULL;
	}
	c->xfers = grown;
	c->xfers[c->nxfers++] = t;

	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
	ms = (long)(c->timeout * 1000);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	ms = (long)(c->connect_timeout * 1000);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->ssl_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->ssl_verify ? 2L : 0L);
	if (c->ca_file.len)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file.data);
	/* An explicit proxy option wins; otherwise none (libcurl would read
	 * the environment, which a library should not do behind your back). */
	curl_easy_setopt(e, CURLOPT_PROXY, c->proxy.len ? c->proxy.data : "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent.data);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	return t;
}

static sp_xfer *xfer_idle(sp_client *c)
{
	int i;
	for (i = 0; i < c->nxfers; i++)
		if (c->xfers[i]->call == NULL)
			return c->xfers[i];
	return xfer_new(c);
}

static struct curl_slist *headers_for(sp_xfer *t, int variant)
{
	sp_client *c = t->client;
	struct curl_slist *l = NULL, *n;
	unsigned gen = (variant & HDR_AUTH) ? c->token_gen : 0;
	const char *lines[4];
	int nl = 0, i;

	if (t->hdrs[variant] && t->hdrs_gen[variant] == gen)
		return t->hdrs[variant];
	curl_slist_free_all(t->hdrs[variant]);
	t->hdrs[variant] = NULL;
	lines[nl++] = "Accept: application/json";
	lines[nl++] = "Expect:";	/* no 100-continue round trip */
	if (variant & HDR_JSON)
		lines[nl++] = "Content-Type: application/json";
	if (variant & HDR_AUTH)
		lines[nl++] = c->auth_header.data;
	for (i = 0; i < nl; i++) {
		n = curl_slist_append(l, lines[i]);
		if (n == NULL) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	t->hdrs[variant] = l;
	t->hdrs_gen[variant] = gen;
	return l;
}

/*
 * Will the connection this handle used last be dead when reused? A server
 * that closes an idle TLS connection first sends a close_notify alert;
 * libcurl's liveness check peeks that byte, takes the connection for
 * alive, sends on it, gets nothing back and resends on a new one. For a
 * POST we refuse such a resend (on_prereq), so look first: any byte or
 * hang-up waiting on an idle connection means it is closing.
 */
static int last_connection_closing(sp_xfer *t)
{
	struct pollfd p;

	/* (a stale number can only cost a needless new connection) */
	if (t->last_fd == CURL_SOCKET_BAD)
		return 0;
	p.fd = t->last_fd;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) > 0 && p.revents != 0;
}

/* Sets the per-request options of t for the call's current request. */
static int configure(sp_xfer *t, sp_call *k)
{
	sp_client *c = t->client;
	CURL *e = t->easy;
	int is_token = k->req_is_token;
	int method = is_token ? SP_POST : k->method;
	const sp_buf *body = is_token ? &c->token_body : &k->body;
	int has_body = is_token || k->has_body;
	const sp_buf *target = is_token ? &c->token_target : &k->target;
	struct curl_slist *h;

	h = headers_for(t, (is_token ? 0 : HDR_AUTH) | (has_body ? HDR_JSON : 0));
	if (h == NULL)
		return 0;
	sp_buf_clear(&t->url);
	if (!sp_buf_add(&t->url, c->origin.data, c->origin.len) ||
			!sp_buf_add(&t->url, target->data, target->len))
		return 0;
	curl_easy_setopt(e, CURLOPT_URL, t->url.data);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	if (method == SP_GET || (method == SP_DELETE && !has_body)) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		/* the body buffer outlives the transfer: no copy needed */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			(curl_off_t)(has_body ? body->len : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
			has_body ? body->data : "");
	}
	if (method != SP_GET && method != SP_POST)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, sp_method_names[method]);

	t->call = k;
	k->xfer = t;
	t->done = 0;
	t->too_large = 0;
	t->send_once = !is_token && (method == SP_POST || method == SP_PATCH);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT,
		t->send_once && last_connection_closing(t) ? 1L : 0L);
	t->sends = 0;
	t->resend_refused = 0;
	t->retry_after = -1;
	t->errbuf[0] = '\0';
	if (t->body.cap == 0)
		sp_buf_swap(&t->body, &c->spare);	/* a finished call's */
	sp_buf_clear(&t->body);
	return 1;
}

/* Moves the finished transfer's outcome into its call and frees t. */
static void collect(sp_xfer *t)
{
	sp_call *k = t->call;
	long status = 0, reqsize = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &reqsize);
	/* only known while the handle is still in the multi handle */
	if (curl_easy_getinfo(t->easy, CURLINFO_ACTIVESOCKET, &t->last_fd) !=
			CURLE_OK)
		t->last_fd = CURL_SOCKET_BAD;
	k->status = (int)status;
	k->sent = reqsize > 0;
	k->retry_after = t->retry_after;
	k->failure = 0;
	sp_buf_clear(&k->errmsg);
	sp_buf_swap(&k->resp, &t->body);	/* zero-copy hand-over */
	sp_buf_clear(&t->body);
	if (t->resend_refused) {
		k->failure = CURLE_GOT_NOTHING;
		k->sent = 1;
		k->status = 0;
		sp_buf_adds(&k->errmsg, "the server closed the connection without "
			"answering; a POST or PATCH is not sent twice");
		sp_buf_clear(&k->resp);
	} else if (t->too_large) {
		k->failure = CURLE_FILESIZE_EXCEEDED;
		sp_buf_printf(&k->errmsg, "the response body exceeds max_body_size "
			"(%lu bytes)", (unsigned long)t->client->max_body_size);
		sp_buf_clear(&k->resp);
	} else if (t->result != CURLE_OK) {
		k->failure = (int)t->result;
		/* libcurl's detail names the host and port; else its summary */
		sp_buf_adds(&k->errmsg, t->errbuf[0] ? t->errbuf
			: curl_easy_strerror(t->result));
	}
	if (t->in_multi) {
		curl_multi_remove_handle(t->in_multi, t->easy);
		t->in_multi = NULL;
	}
	t->call = NULL;
	k->xfer = NULL;
}

static void fail_call(sp_call *k, int code, const char *msg)
{
	k->status = 0;
	k->sent = 0;
	k->failure = code;
	sp_buf_set(&k->errmsg, msg, strlen(msg));
}

/* Drains finished transfers from a multi handle. */
static void read_messages(CURLM *multi)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		sp_xfer *t = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t) {
			t->done = 1;
			t->result = m->data.result;
		}
	}
}

/* multiplex: part of a batch (see the top of this file). */
int sp_http_start(sp_client *c, sp_call *k, int multiplex)
{
	sp_xfer *t;
	CURLM *multi;
	if (!setup_client(c) || (t = xfer_idle(c)) == NULL || !configure(t, k)) {
		fail_call(k, CURLE_OUT_OF_MEMORY, "out of memory");
		return 0;
	}
	curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, multiplex
		? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, multiplex ? 1L : 0L);
	multi = multiplex ? c->batch_multi : c->multi;
	if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
		t->call = NULL;
		k->xfer = NULL;
		fail_call(k, CURLE_FAILED_INIT, "cannot start the transfer");
		return 0;
	}
	t->in_multi = multi;
	return 1;
}

/* Runs one request to completion (the sequential path). */
int sp_http_perform(sp_client *c, sp_call *k)
{
	sp_xfer *t;
	int running;

	if (!sp_http_start(c, k, 0))
		return 0;
	t = k->xfer;
	for (;;) {
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK) {
			t->done = 1;
			t->result = CURLE_FAILED_INIT;
		}
		read_messages(c->multi);
		if (t->done)
			break;
		curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
	collect(t);
	return 1;
}

/*
 * Drives the started transfers for up to timeout seconds; pushes a list of
 * the finished calls' keys (light userdata, see call:key()), their
 * outcomes already moved into the calls. For client:batch.
 */
int sp_http_poll(lua_State *L, sp_client *c, double timeout)
{
	int running = 0, i, n = 0, ms;

	lua_newtable(L);
	if (c->batch_multi == NULL)
		return 1;
	curl_multi_perform(c->batch_multi, &running);
	read_messages(c->batch_multi);
	for (i = 0; i < c->nxfers; i++)
		if (c->xfers[i]->call && c->xfers[i]->done)
			n++;
	if (n == 0 && running > 0 && timeout > 0) {
		ms = timeout < 3600 ? (int)(timeout * 1000) : 3600 * 1000;
		curl_multi_poll(c->batch_multi, NULL, 0, ms > 0 ? ms : 1, NULL);
		curl_multi_perform(c->batch_multi, &running);
		read_messages(c->batch_multi);
	}
	n = 0;
	for (i = 0; i < c->nxfers; i++) {
		sp_xfer *t = c->xfers[i];
		if (t->call && t->done) {
			lua_pushlightuserdata(L, t->call);
			collect(t);
			lua_rawseti(L, -2, ++n);
		}
	}
	return 1;
}

/* A call going away while its transfer is in flight. */
void sp_http_detach(sp_call *k)
{
	sp_xfer *t = k->xfer;
	if (t == NULL)
		return;
	if (t->in_multi) {
		curl_multi_remove_handle(t->in_multi, t->easy);
		t->in_multi = NULL;
	}
	t->call = NULL;
	k->xfer = NULL;
}

void sp_http_cleanup(sp_client *c)
{
	int i;
	for (i = 0; i < c->nxfers; i++) {
		if (c->xfers[i]->call)
			c->xfers[i]->call->xfer = NULL;
		xfer_free(c->xfers[i]);
	}
	free(c->xfers);
	c->xfers = NULL;
	c->nxfers = 0;
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->batch_multi)
		curl_multi_cleanup(c->batch_multi);
	c->batch_multi = NULL;
	if (c->share)
		curl_share_cleanup(c->share);
	c->multi = NULL;
	c->share = NULL;
}
