/*
 * http.c - the libcurl executor of "send", for single calls and batches.
 *
 * Single calls go through the client's own multi handle over HTTP/1.1:
 * one request at a time gains nothing from HTTP/2, which costs libcurl
 * 7.88 a quarter more work per request. A batch (client:batch) owns a
 * multi handle of its own, over HTTP/2 when the server offers it, so that
 * its transfers finish only into it: a batch started inside another
 * batch's progress callback, or interleaved with it from another
 * coroutine, never sees the other's transfers. Finished batches give
 * their multi handle (and its connections) back to the client for the
 * next batch. TLS sessions and DNS are shared by every handle of the
 * client. Easy handles are pooled: a sequential client uses one; a batch
 * uses as many as it has in flight.
 *
 * Each request is configured from the call's request descriptor (k->req,
 * request.c): method, URL, body (JSON or multipart), headers, this
 * attempt's timeouts. The header lists are rebuilt only when the token
 * changes.
 */
#define _GNU_SOURCE		/* POLLRDHUP, memmem */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "sendpulse.h"

#define SP_BATCH_MT "sendpulse.core.Batch"

/* Header list variants: with or without Authorization, with or without a
 * JSON body, JSON or anything accepted. */
#define HDR_AUTH 1
#define HDR_JSON 2
#define HDR_ANY 4
#define HDR_VARIANTS 8

/* Longest response head accepted (libcurl's own limit for one line is
 * 100 KiB; the whole head is bounded here). */
#define HEAD_MAX 65536

struct sp_xfer {
	CURL *easy;
	sp_client *client;
	sp_call *call;			/* the call served, NULL when idle */
	sp_buf body;
	sp_buf url;
	curl_mime *mime;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs[HDR_VARIANTS];
	unsigned hdrs_gen[HDR_VARIANTS];
	double retry_after;
	size_t head_bytes;
	int too_large, head_too_large;
	int send_once;			/* the request must not be sent twice */
	int sends;			/* times libcurl started sending it */
	int resend_refused;
	curl_socket_t last_fd;		/* the connection used last, or BAD */
	CURLM *in_multi;		/* the multi handle it is in, or NULL */
	int done;
	CURLcode result;
};

/* A batch's multi handle; its Lua object holds a pointer to this. */
struct sp_batch {
	CURLM *multi;
	sp_client *client;		/* NULL once the client is closed */
	sp_batch *next;			/* in the client's list of all batches */
	int idle;			/* back with the client, for reuse */
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

/*
 * libcurl 7.88 turns TLS session tickets off (SSL_OP_NO_TICKET) and
 * resumes sessions by id only, which a server without a session cache
 * (many, behind load balancers) cannot resume: every reconnect then pays
 * a full handshake, a round trip more under TLS 1.2. With tickets on, the
 * client's shared session cache resumes them. The context is an SSL_CTX
 * only when libcurl's TLS is the OpenSSL this module is linked with.
 */
static CURLcode on_ssl_ctx(CURL *e, void *ctx, void *ud)
{
	(void)e;
	(void)ud;
	SSL_CTX_clear_options((SSL_CTX *)ctx, SSL_OP_NO_TICKET);
	return CURLE_OK;
}

/* Is libcurl's TLS this OpenSSL ("OpenSSL/3.0.22" against "OpenSSL
 * 3.0.22 ...")? */
static int curl_tls_is_ours(void)
{
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *ours = OpenSSL_version(OPENSSL_VERSION);
	size_t n;
	if (v == NULL || v->ssl_version == NULL || ours == NULL ||
			strncmp(v->ssl_version, "OpenSSL/", 8) != 0 ||
			strncmp(ours, "OpenSSL ", 8) != 0)
		return 0;
	n = strcspn(v->ssl_version + 8, " ");
	return n > 0 && strncmp(v->ssl_version + 8, ours + 8, n) == 0 &&
		(ours[8 + n] == ' ' || ours[8 + n] == '\0');
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
		t->head_bytes = 0;
		sp_buf_clear(&t->body);
	}
	t->head_bytes += n;
	if (t->head_bytes > HEAD_MAX) {
		t->head_too_large = 1;
		return 0;
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
 * This is also the moment the request leaves: the pacer counts from it.
 */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip,
	int conn_primary_port, int conn_local_port)
{
	sp_xfer *t = ud;
	(void)conn_primary_ip; (void)conn_local_ip;
	(void)conn_primary_port; (void)conn_local_port;
	if (t->call) {
		t->call->left_at = sp_monotime();
		sp_pacer_sent(&t->client->pacer, &t->call->ticket,
			t->call->left_at);
	}
	if (t->send_once && t->sends > 0) {
		t->resend_refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	t->sends++;
	return CURL_PREREQFUNC_OK;
}

static void free_mime(sp_xfer *t)
{
	if (t->mime) {
		curl_easy_setopt(t->easy, CURLOPT_MIMEPOST, NULL);
		curl_mime_free(t->mime);
		t->mime = NULL;
	}
}

static void xfer_free(sp_xfer *t)
{
	int i;
	if (t->easy) {
		if (t->in_multi)
			curl_multi_remove_handle(t->in_multi, t->easy);
		free_mime(t);
		curl_easy_cleanup(t->easy);
	}
	for (i = 0; i < HDR_VARIANTS; i++)
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
	if (c->share == NULL) {
		c->share = curl_share_init();
		if (c->share == NULL)
			return 0;
		curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(c->share, CURLSHOPT_SHARE,
			CURL_LOCK_DATA_SSL_SESSION);
		c->tls_tickets = curl_tls_is_ours();
	}
	c->multi = new_multi(0);
	return c->multi != NULL;
}

static sp_xfer *xfer_new(sp_client *c)
{
	sp_xfer *t = calloc(1, sizeof *t), **grown;
	CURL *e;

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
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->ssl_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->ssl_verify ? 2L : 0L);
	if (c->tls_tickets)
		curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
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
	lines[nl++] = (variant & HDR_ANY) ? "Accept: */*"
		: "Accept: application/json";
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

/* The multipart body of the request, as a libcurl mime structure (files
 * streamed from disk by libcurl). */
static int build_mime(sp_xfer *t, const sp_mime *m)
{
	int i;
	t->mime = curl_mime_init(t->easy);
	if (t->mime == NULL)
		return 0;
	for (i = 0; i < m->nparts; i++) {
		const sp_part *p = &m->parts[i];
		curl_mimepart *part = curl_mime_addpart(t->mime);
		if (part == NULL || curl_mime_name(part, p->name.data) != CURLE_OK)
			return 0;
		if (p->path.len) {
			if (curl_mime_filedata(part, p->path.data) != CURLE_OK)
				return 0;
		} else if (curl_mime_data(part, p->data.data ? p->data.data : "",
				p->data.len) != CURLE_OK) {
			return 0;
		}
		if (p->filename.len && (curl_mime_filename(part,
				p->filename.data) != CURLE_OK || curl_mime_type(part,
				p->content_type.data) != CURLE_OK))
			return 0;
	}
	return 1;
}

/* Sets the per-request options of t from the call's request descriptor. */
static int configure(sp_xfer *t, sp_call *k)
{
	sp_client *c = t->client;
	const sp_request *r = &k->req;
	CURL *e = t->easy;
	struct curl_slist *h;
	long ms;

	h = headers_for(t, (r->auth ? HDR_AUTH : 0) |
		(r->body_kind == SP_BODY_JSON ? HDR_JSON : 0) |
		(r->accept_any ? HDR_ANY : 0));
	if (h == NULL)
		return 0;
	sp_buf_clear(&t->url);
	if (!sp_buf_add(&t->url, c->origin.data, c->origin.len) ||
			!sp_buf_add(&t->url, r->target, r->target_len))
		return 0;
	curl_easy_setopt(e, CURLOPT_URL, t->url.data);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	free_mime(t);
	if (r->body_kind == SP_BODY_MULTIPART) {
		if (!build_mime(t, r->mime))
			return 0;
		curl_easy_setopt(e, CURLOPT_MIMEPOST, t->mime);
	} else if (r->method == SP_GET ||
			(r->method == SP_DELETE && r->body_kind == SP_BODY_NONE)) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		/* the body buffer outlives the transfer: no copy needed */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			(curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
	if (r->method != SP_GET && r->method != SP_POST)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
			sp_method_names[r->method]);
	ms = (long)(r->timeout * 1000);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	ms = (long)(r->connect_timeout * 1000);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1L);

	t->call = k;
	k->xfer = t;
	t->done = 0;
	t->too_large = 0;
	t->head_too_large = 0;
	t->head_bytes = 0;
	t->send_once = r->send_once;
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

/* Moves the finished transfer's outcome into its call; t is idle after. */
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
	if (status > 0 && t->in_multi && t->in_multi != t->client->multi) {
		/* a batch's transfer, HTTP/2 offered: what the server chose */
		long v = 0;
		if (curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &v) ==
				CURLE_OK && v != 0)
			t->client->server_h2 = v >= CURL_HTTP_VERSION_2_0 ? 1 : -1;
	}
	k->status = (int)status;
	k->sent = reqsize > 0;
	k->retry_after = t->retry_after;
	k->failure = 0;
	k->ebody_read = 0;
	if (!k->req_is_token && t->sends > 1)
		k->attempts += t->sends - 1;	/* libcurl resent it */
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
	} else if (t->head_too_large || (t->result == CURLE_OUT_OF_MEMORY &&
			(status > 0 || memmem(t->errbuf, strlen(t->errbuf),
				"header", 6)))) {
		/* libcurl refuses a header line over 100 KiB with "out of
		 * memory" (after the status line); either way the server's
		 * answer cannot be read */
		k->failure = CURLE_WEIRD_SERVER_REPLY;
		sp_buf_printf(&k->errmsg, "the response head is too large "
			"(more than %d KiB)", HEAD_MAX / 1024);
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
	free_mime(t);
	t->call = NULL;
	k->xfer = NULL;
}

static void fail_call(sp_call *k, int code, const char *msg)
{
	k->status = 0;
	k->sent = 0;
	k->failure = code;
	k->ebody_read = 0;
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

/* Hands the call's request to the multi handle; a failure to start is
 * recorded in the call like a transport failure. */
int sp_http_start(sp_client *c, sp_call *k, CURLM *multi)
{
	sp_xfer *t;
	int multiplex = multi != c->multi;

	if ((t = xfer_idle(c)) == NULL || !configure(t, k)) {
		if (t && t->call == k) {
			t->call = NULL;
			k->xfer = NULL;
		}
		fail_call(k, CURLE_OUT_OF_MEMORY, "out of memory");
		return 0;
	}
	curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, multiplex
		? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	/* Waiting for a connection being opened pays when the server
	 * multiplexes; when it is known to speak HTTP/1.1 only, the
	 * transfers waiting would open their own connections a handshake
	 * later (two round trips at the start of every batch). */
	curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT,
		multiplex && c->server_h2 >= 0 ? 1L : 0L);
	if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
		t->call = NULL;
		k->xfer = NULL;
		fail_call(k, CURLE_FAILED_INIT, "cannot start the transfer");
		return 0;
	}
	t->in_multi = multi;
	return 1;
}

/* Runs one request to completion (the inline driver's "send"). */
void sp_http_perform(sp_client *c, sp_call *k, void *ud)
{
	sp_xfer *t;
	int running;

	(void)ud;
	if (!setup_client(c)) {
		fail_call(k, CURLE_OUT_OF_MEMORY, "out of memory");
		return;
	}
	if (!sp_http_start(c, k, c->multi))
		return;
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
	free_mime(t);
	t->call = NULL;
	k->xfer = NULL;
}

void sp_http_cleanup(sp_client *c)
{
	sp_batch *b, *next;
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
	c->multi = NULL;
	/* Batches: idle ones are freed; a batch object still alive in Lua
	 * loses its handle and fails whatever it is asked next. */
	for (b = c->idle_batches; b; b = next) {
		next = b->next;
		if (b->multi)
			curl_multi_cleanup(b->multi);
		b->multi = NULL;
		b->client = NULL;
		if (b->idle)
			free(b);
	}
	c->idle_batches = NULL;
	if (c->share)
		curl_share_cleanup(c->share);
	c->share = NULL;
}

/* ======================================================================
 * Batches: client:batch_open() -> batch, with start(call), poll(timeout),
 * close(). The client's list c->idle_batches holds every batch (idle ones
 * for reuse, and the ones in use, so that closing the client can cut
 * them loose).
 * ====================================================================== */

static sp_batch **check_batch(lua_State *L)
{
	return (sp_batch **)luaL_checkudata(L, 1, SP_BATCH_MT);
}

static sp_batch *live_batch(lua_State *L)
{
	sp_batch *b = *check_batch(L);
	if (b == NULL || b->client == NULL || b->client->closed ||
			b->multi == NULL)
		luaL_error(L, "sendpulse: the client is closed");
	return b;
}

/* client:batch_open() -> a batch owning a multi handle */
int sp_batch_open(lua_State *L)
{
	sp_client *c = sp_check_client(L, 1);
	sp_batch **ud, *b;

	if (c->closed)
		return luaL_error(L, "sendpulse: the client is closed");
	ud = (sp_batch **)sp_newuserdata(L, sizeof *ud);
	*ud = NULL;
	luaL_getmetatable(L, SP_BATCH_MT);
	lua_setmetatable(L, -2);
	lua_pushvalue(L, 1);		/* keeps the client alive */
	sp_setuservalue(L, -2);
	if (!setup_client(c))
		return luaL_error(L, "out of memory");
	for (b = c->idle_batches; b; b = b->next)
		if (b->idle && b->multi)
			break;
	if (b == NULL) {
		b = calloc(1, sizeof *b);
		if (b == NULL)
			return luaL_error(L, "out of memory");
		b->multi = new_multi(1);
		if (b->multi == NULL) {
			free(b);
			return luaL_error(L, "out of memory");
		}
		b->client = c;
		b->next = c->idle_batches;
		c->idle_batches = b;
	}
	b->idle = 0;
	*ud = b;
	return 1;
}

/* batch:start(call) -> started: hands the call's request to the batch's
 * multi handle without waiting. A failure to start is recorded in the
 * call like any transport failure. */
static int batch_start(lua_State *L)
{
	sp_batch *b = live_batch(L);
	sp_call *k = sp_check_call(L, 2);
	if (k->client != b->client)
		return luaL_argerror(L, 2, "a call of another client");
	lua_pushboolean(L, sp_http_start(b->client, k, b->multi));
	return 1;
}

/*
 * batch:poll(timeout) -> keys of the calls whose transfer finished (light
 * userdata, see call:key()), their outcomes already moved into the calls.
 * Waits up to timeout seconds for one to finish.
 */
static int batch_poll(lua_State *L)
{
	sp_batch *b = live_batch(L);
	sp_client *c = b->client;
	double timeout = (double)luaL_optnumber(L, 2, 0);
	int running = 0, i, n = 0, ms;

	lua_newtable(L);
	curl_multi_perform(b->multi, &running);
	read_messages(b->multi);
	for (i = 0; i < c->nxfers; i++)
		if (c->xfers[i]->call && c->xfers[i]->in_multi == b->multi &&
				c->xfers[i]->done)
			n++;
	if (n == 0 && running > 0 && timeout > 0) {
		ms = timeout < 3600 ? (int)(timeout * 1000) : 3600 * 1000;
		curl_multi_poll(b->multi, NULL, 0, ms > 0 ? ms : 1, NULL);
		curl_multi_perform(b->multi, &running);
		read_messages(b->multi);
	}
	n = 0;
	for (i = 0; i < c->nxfers; i++) {
		sp_xfer *t = c->xfers[i];
		if (t->call && t->in_multi == b->multi && t->done) {
			lua_pushlightuserdata(L, t->call);
			collect(t);
			lua_rawseti(L, -2, ++n);
		}
	}
	return 1;
}

/* batch:close(): lets go of every transfer still in it and gives the
 * multi handle back to the client. Idempotent; also __gc. */
static int batch_close(lua_State *L)
{
	sp_batch **ud = check_batch(L), *b = *ud;
	int i;

	if (b == NULL)
		return 0;
	*ud = NULL;
	if (b->client == NULL) {	/* the client was closed first */
		free(b);
		return 0;
	}
	for (i = 0; i < b->client->nxfers; i++) {
		sp_xfer *t = b->client->xfers[i];
		if (t->call && t->in_multi == b->multi)
			sp_http_detach(t->call);
	}
	b->idle = 1;
	return 0;
}

void sp_batch_register(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "start", batch_start },
		{ "poll", batch_poll },
		{ "close", batch_close },
		{ NULL, NULL }
	};
	luaL_newmetatable(L, SP_BATCH_MT);
	lua_pushcfunction(L, batch_close);
	lua_setfield(L, -2, "__gc");
	lua_createtable(L, 0, 3);
	sp_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
