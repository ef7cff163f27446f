/*
 * redis.c - a small Redis client for the Redis token store and pacer
 * outside nginx: RESP2, one command at a time, over TCP or TLS.
 *
 * Why not hiredis: Debian 12 ships hiredis 0.14, which has no TLS, and
 * `rediss://` is required; what the store and the pacer need (connect,
 * AUTH, SELECT, one command and its reply, with a deadline) is small
 * enough to write here with limits we choose: every read and write waits
 * in poll() against the call's deadline, a reply is checked complete and
 * well-formed (sizes, nesting) by a scanner before any Lua value is built,
 * and the connection lives in a userdata whose __gc frees everything.
 *
 *   core.redis_connect{ host = "127.0.0.1", port = 6379, username = nil,
 *     password = nil, db = 0, tls = false, ca_file = nil,
 *     server_name = nil, timeout = 1, max_reply = 16 MiB }
 *       -> conn | nil, message, kind
 *   conn:call("SET", "k", "v", "PX", 1000) -> reply | nil, message, kind
 *   conn:set_timeout(seconds), conn:connected(), conn:close()
 *   core.random_hex(nbytes) -> hex string
 *   core.sha1_hex(s) -> hex string (how Redis names scripts)
 *
 * Replies: status -> string, error -> nil, "ERR ...", "reply" (the
 * connection stays usable), integer -> integer (a float on LuaJIT), bulk
 * -> string, nil -> false, array -> table (nil elements false, error
 * elements { err = "..." }). Any other failure (kind "timeout", "closed",
 * "io", "protocol", "tls", "connect", "auth", "resolve") closes the
 * connection: the caller reconnects. No message holds the password.
 *
 * Host names are resolved with getaddrinfo(), which the timeout does not
 * bound (the resolver's own timeouts apply); an IP address avoids it.
 */
#define _GNU_SOURCE	/* SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_NOSIGNAL */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sendpulse.h"
#include "redis.h"

#define READ_CHUNK 16384
#define KEEP_BUFFER (256u << 10)	/* larger read buffers are freed */

/* ======================================================================
 * The reply scanner and the Lua values
 * ====================================================================== */

void sp_resp_scan_init(sp_resp_scanner *s)
{
	memset(s, 0, sizeof *s);
}

/* A RESP number: an optional '-', then 1 to 19 digits, within int64. */
static int parse_ll(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 19)
		return 0;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < n; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
			-(long long)v;
	else
		*out = (long long)v;
	return 1;
}

/* One element is complete at next: close the arrays it completes. */
static int scan_element_done(sp_resp_scanner *s, size_t next)
{
	s->pos = next;
	s->line_from = next;
	while (s->depth > 0) {
		if (--s->left[s->depth - 1] > 0)
			return 0;
		s->depth--;
	}
	return 1;
}

int sp_resp_scan(sp_resp_scanner *s, const char *b, size_t n, size_t max,
	size_t *used, const char **why)
{
	for (;;) {
		size_t pos = s->pos, from, eol, len;
		const char *nl, *line;
		long long v;
		char type;

		if (pos >= n) {
			if (pos >= max) {
				*why = "the reply is larger than max_reply";
				return SP_RESP_BAD;
			}
			return SP_RESP_MORE;
		}
		type = b[pos];
		if (type != '+' && type != '-' && type != ':' && type != '$' &&
				type != '*') {
			*why = "unknown reply type";
			return SP_RESP_BAD;
		}
		from = s->line_from > pos + 1 ? s->line_from : pos + 1;
		nl = from < n ? memchr(b + from, '\n', n - from) : NULL;
		if (nl == NULL) {
			size_t have = n - pos;
			if (have > (type == '+' || type == '-' ?
					SP_RESP_LINE_MAX + 3 : SP_RESP_NUM_MAX + 3)) {
				*why = "a reply line is too long";
				return SP_RESP_BAD;
			}
			if (n >= max) {
				*why = "the reply is larger than max_reply";
				return SP_RESP_BAD;
			}
			s->line_from = n;
			return SP_RESP_MORE;
		}
		eol = (size_t)(nl - b);		/* the '\n' */
		if (eol < pos + 2 || b[eol - 1] != '\r') {
			*why = "a reply line does not end in CRLF";
			return SP_RESP_BAD;
		}
		line = b + pos + 1;
		len = eol - 1 - (pos + 1);
		if (len > (type == '+' || type == '-' ? SP_RESP_LINE_MAX :
				SP_RESP_NUM_MAX)) {
			*why = "a reply line is too long";
			return SP_RESP_BAD;
		}
		if (eol + 1 > max) {
			*why = "the reply is larger than max_reply";
			return SP_RESP_BAD;
		}
		if (memchr(line, '\r', len) != NULL) {
			*why = "a reply line holds a CR";
			return SP_RESP_BAD;
		}
		switch (type) {
		case '+':
		case '-':
			if (scan_element_done(s, eol + 1))
				goto done;
			continue;
		case ':':
			if (!parse_ll(line, len, &v)) {
				*why = "a malformed integer reply";
				return SP_RESP_BAD;
			}
			if (scan_element_done(s, eol + 1))
				goto done;
			continue;
		case '$': {
			size_t end;
			if (!parse_ll(line, len, &v) || v < -1) {
				*why = "a malformed bulk length";
				return SP_RESP_BAD;
			}
			if (v == -1) {
				if (scan_element_done(s, eol + 1))
					goto done;
				continue;
			}
			if ((unsigned long long)v > max ||
					(size_t)v > max - (eol + 1) ||
					max - (eol + 1) - (size_t)v < 2) {
				*why = "the reply is larger than max_reply";
				return SP_RESP_BAD;
			}
			end = eol + 1 + (size_t)v;	/* the CR after the data */
			if (end + 2 > n) {
				s->line_from = pos;	/* the header is re-read */
				return SP_RESP_MORE;
			}
			if (b[end] != '\r' || b[end + 1] != '\n') {
				*why = "a bulk string does not end in CRLF";
				return SP_RESP_BAD;
			}
			if (scan_element_done(s, end + 2))
				goto done;
			continue;
		}
		case '*':
			if (!parse_ll(line, len, &v) || v < -1) {
				*why = "a malformed array length";
				return SP_RESP_BAD;
			}
			if (v <= 0) {
				if (scan_element_done(s, eol + 1))
					goto done;
				continue;
			}
			/* every element takes 3 bytes at least ("+\r\n") */
			if ((unsigned long long)v > (max - (eol + 1)) / 3) {
				*why = "the reply is larger than max_reply";
				return SP_RESP_BAD;
			}
			if (s->depth >= SP_RESP_MAXDEPTH) {
				*why = "the reply nests too deeply";
				return SP_RESP_BAD;
			}
			s->left[s->depth++] = v;
			s->pos = eol + 1;
			s->line_from = eol + 1;
			continue;
		}
	}
done:
	*used = s->pos;
	return SP_RESP_DONE;
}

/* Pushes the element at pos (scanned already); returns where the next one
 * starts. */
static size_t push_element(lua_State *L, const char *b, size_t pos,
	size_t end, int top, int *type)
{
	const char *nl = memchr(b + pos, '\n', end - pos), *line;
	size_t eol, len;
	long long v = 0;

	if (nl == NULL)
		luaL_error(L, "redis: reply not scanned");
	eol = (size_t)(nl - b);
	line = b + pos + 1;
	len = eol - 1 - (pos + 1);
	luaL_checkstack(L, 4, "redis reply");
	switch (b[pos]) {
	case '+':
		lua_pushlstring(L, line, len);
		*type = SP_RESP_T_STATUS;
		return eol + 1;
	case '-':
		if (top) {
			lua_pushlstring(L, line, len);
		} else {
			lua_createtable(L, 0, 1);
			lua_pushlstring(L, line, len);
			lua_setfield(L, -2, "err");
		}
		*type = SP_RESP_T_ERROR;
		return eol + 1;
	case ':':
		parse_ll(line, len, &v);
		sp_pushint(L, v);
		*type = SP_RESP_T_INTEGER;
		return eol + 1;
	case '$':
		parse_ll(line, len, &v);
		if (v < 0) {
			lua_pushboolean(L, 0);
			*type = SP_RESP_T_NIL;
			return eol + 1;
		}
		lua_pushlstring(L, b + eol + 1, (size_t)v);
		*type = SP_RESP_T_BULK;
		return eol + 1 + (size_t)v + 2;
	default: {	/* '*' */
		long long i;
		int t;
		size_t next = eol + 1;
		parse_ll(line, len, &v);
		if (v < 0) {
			lua_pushboolean(L, 0);
			*type = SP_RESP_T_NIL;
			return next;
		}
		lua_createtable(L, v > INT_MAX ? INT_MAX : (int)v, 0);
		for (i = 1; i <= v; i++) {
			next = push_element(L, b, next, end, 0, &t);
			lua_rawseti(L, -2, (int)i);
		}
		*type = SP_RESP_T_ARRAY;
		return next;
	}
	}
}

int sp_resp_push(lua_State *L, const char *b, size_t used)
{
	int type = 0;
	push_element(L, b, 0, used, 1, &type);
	return type;
}

/* ======================================================================
 * The connection
 * ====================================================================== */

typedef struct sp_redis {
	int fd;				/* -1: closed */
	pid_t pid;			/* the process that connected */
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *biom;
	int tls_up;			/* handshake done: close_notify on close */
	double timeout;
	size_t max_reply;
	size_t skip;			/* bytes of in still holding the last reply */
	sp_buf in, out;
	int db;
	char where[300];		/* "host:port", for messages */
	char err[600];
	const char *kind;
	const char *stage;		/* what a timeout interrupted */
} sp_redis;

static void conn_release(sp_redis *r)
{
	if (r->ssl) {
		/* close_notify, without waiting; never from a forked child,
		 * whose parent may still be using the session */
		if (r->tls_up && r->fd >= 0 && r->pid == getpid()) {
			ERR_clear_error();
			SSL_shutdown(r->ssl);
		}
		SSL_free(r->ssl);	/* frees the BIO too */
		r->ssl = NULL;
	}
	ERR_clear_error();
	if (r->ctx) {
		SSL_CTX_free(r->ctx);
		r->ctx = NULL;
	}
	if (r->biom) {
		BIO_meth_free(r->biom);
		r->biom = NULL;
	}
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	r->tls_up = 0;
	r->skip = 0;
	/* replies may have held tokens, requests the password */
	sp_buf_wipe(&r->in);
	sp_buf_free(&r->in);
	sp_buf_wipe(&r->out);
	sp_buf_free(&r->out);
}

static int set_error(sp_redis *r, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(sp_redis *r, const char *kind, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof r->err, "redis %s: ", r->where);
	if (n < 0 || (size_t)n >= sizeof r->err)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
	va_end(ap);
	r->kind = kind;
	return 0;
}

/* The reason OpenSSL gave for the last failure. */
static int tls_error(sp_redis *r, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	if (r->ssl && SSL_get_verify_result(r->ssl) != X509_V_OK) {
		long v = SSL_get_verify_result(r->ssl);
		ERR_clear_error();
		return set_error(r, "tls", "%s: certificate verification failed: %s",
			what, X509_verify_cert_error_string(v));
	}
	if (e == 0) {
		ERR_clear_error();
		if (errno)
			return set_error(r, "tls", "%s: %s", what, strerror(errno));
		return set_error(r, "tls", "%s: the server closed the connection",
			what);
	}
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return set_error(r, "tls", "%s: %s", what, buf);
}

/*
 * An SSL_read/SSL_write failure: the server closing the connection (with
 * or without close_notify, or resetting it) is "closed", as on plain TCP,
 * so that a kept connection Redis dropped is replaced; anything else is a
 * TLS error.
 */
static int tls_io_failure(sp_redis *r, int e, const char *what)
{
	unsigned long err = ERR_peek_error();
	int peer_gone = e == SSL_ERROR_ZERO_RETURN ||
		(e == SSL_ERROR_SYSCALL && (errno == 0 || errno == EPIPE ||
			errno == ECONNRESET)) ||
		(e == SSL_ERROR_SSL && ERR_GET_LIB(err) == ERR_LIB_SSL &&
			ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
	if (peer_gone) {
		ERR_clear_error();
		return set_error(r, "closed", "the server closed the connection");
	}
	return tls_error(r, what);
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(sp_redis *r, short events, double deadline)
{
	for (;;) {
		struct pollfd p;
		double left = deadline - sp_monotime();
		int ms, n;
		if (left <= 0)
			return set_error(r, "timeout", "timed out %s (timeout %g s)",
				r->stage ? r->stage : "", r->timeout);
		ms = left > 86400 ? 86400000 : (int)ceil(left * 1000);
		p.fd = r->fd;
		p.events = events;
		p.revents = 0;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 1;	/* ready, or an error the I/O will see */
		if (n < 0 && errno != EINTR)
			return set_error(r, "io", "poll: %s", strerror(errno));
	}
}

/* ---- a BIO on our socket: MSG_NOSIGNAL, so no SIGPIPE ---------------- */

static int bio_write(BIO *b, const char *p, int n)
{
	sp_redis *r = BIO_get_data(b);
	ssize_t w;
	BIO_clear_retry_flags(b);
	do
		w = send(r->fd, p, (size_t)n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)w;
}

static int bio_read(BIO *b, char *p, int n)
{
	sp_redis *r = BIO_get_data(b);
	ssize_t got;
	BIO_clear_retry_flags(b);
	do
		got = recv(r->fd, p, (size_t)n, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)got;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b; (void)num; (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ---- raw I/O ---------------------------------------------------------- */

/* Sends all of p[0..n) before the deadline. */
static int io_write(sp_redis *r, const char *p, size_t n, double deadline)
{
	while (n > 0) {
		size_t chunk = n > INT_MAX ? INT_MAX : n;
		if (r->ssl) {
			int w, e;
			ERR_clear_error();
			errno = 0;
			w = SSL_write(r->ssl, p, (int)chunk);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			e = SSL_get_error(r->ssl, w);
			if (e == SSL_ERROR_WANT_WRITE) {
				if (!wait_fd(r, POLLOUT, deadline))
					return 0;
			} else if (e == SSL_ERROR_WANT_READ) {
				if (!wait_fd(r, POLLIN, deadline))
					return 0;
			} else {
				return tls_io_failure(r, e, "sending");
			}
		} else {
			ssize_t w = send(r->fd, p, chunk, MSG_NOSIGNAL);
			if (w >= 0) {
				p += w;
				n -= (size_t)w;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait_fd(r, POLLOUT, deadline))
					return 0;
			} else if (errno == EPIPE || errno == ECONNRESET) {
				return set_error(r, "closed",
					"the server closed the connection");
			} else if (errno != EINTR) {
				return set_error(r, "io", "cannot send: %s",
					strerror(errno));
			}
		}
	}
	return 1;
}

/* Reads what is available (at least one byte) into p[0..cap). */
static long io_read(sp_redis *r, char *p, size_t cap, double deadline)
{
	if (cap > INT_MAX)
		cap = INT_MAX;
	for (;;) {
		if (r->ssl) {
			int got, e;
			ERR_clear_error();
			errno = 0;
			got = SSL_read(r->ssl, p, (int)cap);
			if (got > 0)
				return got;
			e = SSL_get_error(r->ssl, got);
			if (e == SSL_ERROR_WANT_READ) {
				if (!wait_fd(r, POLLIN, deadline))
					return -1;
			} else if (e == SSL_ERROR_WANT_WRITE) {
				if (!wait_fd(r, POLLOUT, deadline))
					return -1;
			} else {
				tls_io_failure(r, e, "receiving");
				return -1;
			}
		} else {
			ssize_t got = recv(r->fd, p, cap, 0);
			if (got > 0)
				return (long)got;
			if (got == 0 || errno == ECONNRESET) {
				set_error(r, "closed", "the server closed the connection");
				return -1;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait_fd(r, POLLIN, deadline))
					return -1;
			} else if (errno != EINTR) {
				set_error(r, "io", "cannot receive: %s", strerror(errno));
				return -1;
			}
		}
	}
}

/* Drops the reply the previous call left in the buffer (also after a Lua
 * error while its value was being built). */
static void drop_reply(sp_redis *r)
{
	if (r->skip == 0)
		return;
	if (r->skip >= r->in.len) {
		r->in.len = 0;
	} else {
		memmove(r->in.data, r->in.data + r->skip, r->in.len - r->skip);
		r->in.len -= r->skip;
	}
	r->skip = 0;
	if (r->in.cap > KEEP_BUFFER && r->in.len == 0) {
		sp_buf_wipe(&r->in);
		sp_buf_free(&r->in);
	}
}

/* Sends r->out and reads one reply: *used is its length in r->in. */
static int roundtrip(sp_redis *r, double deadline, size_t *used)
{
	sp_resp_scanner sc;
	const char *why = NULL;

	drop_reply(r);
	if (r->in.len > 0)
		return set_error(r, "protocol", "data arrived before the request");
	r->stage = "sending the request";
	if (!io_write(r, r->out.data, r->out.len, deadline))
		return 0;
	r->stage = "waiting for the reply";
	sp_resp_scan_init(&sc);
	for (;;) {
		long got;
		if (r->in.len > 0) {
			int st = sp_resp_scan(&sc, r->in.data, r->in.len,
				r->max_reply, used, &why);
			if (st == SP_RESP_DONE) {
				if (*used != r->in.len)
					return set_error(r, "protocol",
						"more data than one reply");
				return 1;
			}
			if (st == SP_RESP_BAD)
				return set_error(r, "protocol", "%s", why);
		}
		if (!sp_buf_reserve(&r->in, READ_CHUNK))
			return set_error(r, "io", "out of memory");
		got = io_read(r, r->in.data + r->in.len,
			r->in.cap - r->in.len - 1, deadline);
		if (got < 0)
			return 0;
		r->in.len += (size_t)got;
		r->in.data[r->in.len] = '\0';
	}
}

/* Appends one RESP bulk string to r->out. */
static int add_bulk(sp_buf *b, const char *s, size_t n)
{
	return sp_buf_printf(b, "$%lu\r\n", (unsigned long)n) &&
		sp_buf_add(b, s, n) && sp_buf_add(b, "\r\n", 2);
}

/* A command of C strings, for the handshake; the reply's first line is
 * left in r->in (the caller looks at its first byte). */
static int simple_command(sp_redis *r, double deadline, int argc,
	const char **argv, size_t *used)
{
	int i, ok;
	sp_buf_clear(&r->out);
	ok = sp_buf_printf(&r->out, "*%d\r\n", argc);
	for (i = 0; ok && i < argc; i++)
		ok = add_bulk(&r->out, argv[i], strlen(argv[i]));
	if (!ok)
		return set_error(r, "io", "out of memory");
	ok = roundtrip(r, deadline, used);
	r->skip = ok ? *used : 0;
	sp_buf_wipe(&r->out);	/* it may have held the password */
	return ok;
}

/* The error line of a handshake reply, or NULL when it is not an error. */
static int handshake_reply(sp_redis *r, const char *what, const char *kind)
{
	const char *b = r->in.data;
	size_t n = r->skip;
	if (n >= 1 && b[0] == '+')
		return 1;
	if (n >= 3 && b[0] == '-') {
		int len = (int)(n - 3 > 400 ? 400 : n - 3);
		return set_error(r, kind, "%s refused: %.*s", what, len, b + 1);
	}
	return set_error(r, "protocol", "%s: an unexpected reply", what);
}

static int is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int tcp_connect(sp_redis *r, const char *host, int port,
	double deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[16];
	int rc, last = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof service, "%d", port);
	rc = getaddrinfo(host, service, &hints, &res);
	r->stage = "connecting";
	if (rc != 0)
		return set_error(r, "resolve", "cannot resolve the host: %s",
			gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		int fd, err = 0, one = 1;
		socklen_t len = sizeof err;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		r->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				last = errno;
				goto next;
			}
			if (!wait_fd(r, POLLOUT, deadline)) {
				close(fd);
				r->fd = -1;
				freeaddrinfo(res);
				return 0;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
				err = errno;
			if (err != 0) {
				last = err;
				goto next;
			}
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		freeaddrinfo(res);
		return 1;
next:
		close(fd);
		r->fd = -1;
	}
	freeaddrinfo(res);
	return set_error(r, "connect", "cannot connect: %s",
		last ? strerror(last) : "no address");
}

static int tls_start(sp_redis *r, const char *host, const char *ca_file,
	const char *server_name, double deadline)
{
	const char *name = server_name ? server_name : host;
	BIO *bio;

	ERR_clear_error();
	r->ctx = SSL_CTX_new(TLS_client_method());
	if (r->ctx == NULL)
		return tls_error(r, "TLS setup");
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(r->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca_file) {
		if (SSL_CTX_load_verify_locations(r->ctx, ca_file, NULL) != 1)
			return tls_error(r, "cannot load ca_file");
	} else if (SSL_CTX_set_default_verify_paths(r->ctx) != 1) {
		return tls_error(r, "cannot load the system's certificates");
	}
	r->ssl = SSL_new(r->ctx);
	if (r->ssl == NULL)
		return tls_error(r, "TLS setup");
	if (is_ip_literal(name)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), name) != 1)
			return tls_error(r, "TLS setup");
	} else {
		SSL_set_hostflags(r->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(r->ssl, name) != 1 ||
				SSL_set1_host(r->ssl, name) != 1)
			return tls_error(r, "TLS setup");
	}
	r->biom = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "sendpulse redis socket");
	if (r->biom == NULL || !BIO_meth_set_write(r->biom, bio_write) ||
			!BIO_meth_set_read(r->biom, bio_read) ||
			!BIO_meth_set_ctrl(r->biom, bio_ctrl))
		return tls_error(r, "TLS setup");
	bio = BIO_new(r->biom);
	if (bio == NULL)
		return tls_error(r, "TLS setup");
	BIO_set_data(bio, r);
	BIO_set_init(bio, 1);
	SSL_set_bio(r->ssl, bio, bio);	/* the SSL owns it now */
	r->stage = "in the TLS handshake";
	for (;;) {
		int rc, e;
		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(r->ssl);
		if (rc == 1)
			break;
		e = SSL_get_error(r->ssl, rc);
		if (e == SSL_ERROR_WANT_READ) {
			if (!wait_fd(r, POLLIN, deadline))
				return 0;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (!wait_fd(r, POLLOUT, deadline))
				return 0;
		} else {
			return tls_error(r, "TLS handshake");
		}
	}
	r->tls_up = 1;
	return 1;
}

/* ---- Lua -------------------------------------------------------------- */

static sp_redis *check_conn(lua_State *L)
{
	return (sp_redis *)luaL_checkudata(L, 1, SP_REDIS_MT);
}

/* nil, message, kind */
static int push_failure(lua_State *L, sp_redis *r)
{
	lua_pushnil(L);
	lua_pushstring(L, r->err);
	lua_pushstring(L, r->kind ? r->kind : "io");
	return 3;
}

static void opt_error(lua_State *L, const char *name, const char *want)
{
	luaL_error(L, "sendpulse.redis: option '%s' must be %s (got %s)", name,
		want, luaL_typename(L, -1));
}

/* The string option name of the table at 1 (NULL when absent). */
static const char *opt_string(lua_State *L, const char *name, int required)
{
	const char *s;
	size_t n;
	lua_getfield(L, 1, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		if (required)
			luaL_error(L, "sendpulse.redis: option '%s' is required",
				name);
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		opt_error(L, name, "a string");
	s = lua_tolstring(L, -1, &n);
	if (n == 0 || n > 4096 || strlen(s) != n)
		opt_error(L, name, "a non-empty string without NUL bytes");
	lua_pop(L, 1);	/* still referenced by the options table */
	return s;
}

static double opt_number(lua_State *L, const char *name, double dflt,
	double lo, double hi, int integer)
{
	double v;
	lua_getfield(L, 1, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return dflt;
	}
	if (lua_type(L, -1) != LUA_TNUMBER)
		opt_error(L, name, integer ? "an integer" : "a number");
	v = (double)lua_tonumber(L, -1);
	if (!(v >= lo && v <= hi) || (integer && v != floor(v))) {
		char range[80];	/* lua_pushfstring knows no %g */
		snprintf(range, sizeof range, "from %g to %g", lo, hi);
		luaL_error(L, "sendpulse.redis: option '%s' must be %s %s", name,
			integer ? "an integer" : "a number", range);
	}
	lua_pop(L, 1);
	return v;
}

static int opt_boolean(lua_State *L, const char *name)
{
	int v;
	lua_getfield(L, 1, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	if (lua_type(L, -1) != LUA_TBOOLEAN)
		opt_error(L, name, "a boolean");
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* core.redis_connect(opts) -> conn | nil, message, kind */
static int redis_connect(lua_State *L)
{
	static const char *const known[] = {
		"host", "port", "username", "password", "db", "tls", "ca_file",
		"server_name", "timeout", "max_reply", NULL
	};
	const char *host, *username, *password, *ca_file, *server_name;
	int port, db, tls, i;
	double timeout, deadline;
	size_t used;
	sp_redis *r;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ?
			lua_tostring(L, -2) : NULL;
		for (i = 0; k && known[i]; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (k == NULL || known[i] == NULL)
			return luaL_error(L, "sendpulse.redis: unknown option '%s'",
				k ? k : luaL_typename(L, -2));
		lua_pop(L, 1);
	}
	host = opt_string(L, "host", 1);
	port = (int)opt_number(L, "port", 6379, 1, 65535, 1);
	username = opt_string(L, "username", 0);
	password = opt_string(L, "password", 0);
	db = (int)opt_number(L, "db", 0, 0, INT_MAX, 1);
	tls = opt_boolean(L, "tls");
	ca_file = opt_string(L, "ca_file", 0);
	server_name = opt_string(L, "server_name", 0);
	timeout = opt_number(L, "timeout", 1, 0.001, 86400, 0);
	if (username && !password)
		return luaL_error(L, "sendpulse.redis: option 'username' needs "
			"'password'");

	r = (sp_redis *)lua_newuserdata(L, sizeof *r);
	memset(r, 0, sizeof *r);
	r->fd = -1;
	luaL_getmetatable(L, SP_REDIS_MT);
	lua_setmetatable(L, -2);
	r->timeout = timeout;
	r->max_reply = (size_t)opt_number(L, "max_reply",
		(double)SP_REDIS_REPLY_DEFAULT, (double)SP_REDIS_REPLY_MIN,
		(double)SP_REDIS_REPLY_MAX, 1);
	r->db = db;
	r->pid = getpid();
	snprintf(r->where, sizeof r->where, strchr(host, ':') ? "[%s]:%d" :
		"%s:%d", host, port);

	deadline = sp_monotime() + timeout;
	if (!tcp_connect(r, host, port, deadline))
		goto fail;
	if (tls && !tls_start(r, host, ca_file, server_name, deadline))
		goto fail;
	if (password) {
		const char *argv[3];
		int argc = 0;
		argv[argc++] = "AUTH";
		if (username)
			argv[argc++] = username;
		argv[argc++] = password;
		if (!simple_command(r, deadline, argc, argv, &used) ||
				!handshake_reply(r, "AUTH", "auth"))
			goto fail;
	}
	if (db != 0) {
		char num[16];
		const char *argv[2];
		snprintf(num, sizeof num, "%d", db);
		argv[0] = "SELECT";
		argv[1] = num;
		if (!simple_command(r, deadline, 2, argv, &used) ||
				!handshake_reply(r, "SELECT", "reply"))
			goto fail;
	}
	if (!password && db == 0) {
		/* one round trip proves the server answers (and wants no AUTH) */
		const char *argv[1];
		argv[0] = "PING";
		if (!simple_command(r, deadline, 1, argv, &used))
			goto fail;
		if (r->in.len >= 7 && memcmp(r->in.data, "-NOAUTH", 7) == 0) {
			handshake_reply(r, "the server wants a password; PING", "auth");
			goto fail;
		}
		if (!handshake_reply(r, "PING", "reply"))
			goto fail;
	}
	drop_reply(r);
	return 1;
fail:
	conn_release(r);
	return push_failure(L, r);
}

/* conn:call(command, ...) -> reply | nil, message, kind */
static int conn_call(lua_State *L)
{
	sp_redis *r = check_conn(L);
	int top = lua_gettop(L), i, type, ok;
	size_t used;

	if (top < 2)
		return luaL_error(L, "sendpulse.redis: call needs a command");
	for (i = 2; i <= top; i++) {
		int t = lua_type(L, i);
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			return luaL_error(L, "sendpulse.redis: bad argument #%d to "
				"'call' (a string or a number expected, got %s)",
				i - 1, luaL_typename(L, i));
		if (t == LUA_TNUMBER && !sp_isinteger(L, i)) {
			double d = (double)lua_tonumber(L, i);
			if (!isfinite(d))
				return luaL_error(L, "sendpulse.redis: bad argument "
					"#%d to 'call' (a finite number expected)",
					i - 1);
		}
	}
	if (r->fd < 0) {
		snprintf(r->err, sizeof r->err, "redis %s: the connection is "
			"closed", r->where);
		r->kind = "closed";
		return push_failure(L, r);
	}
	drop_reply(r);
	sp_buf_clear(&r->out);
	ok = sp_buf_printf(&r->out, "*%d\r\n", top - 1);
	for (i = 2; ok && i <= top; i++) {
		if (lua_type(L, i) == LUA_TSTRING) {
			size_t n;
			const char *s = lua_tolstring(L, i, &n);
			ok = add_bulk(&r->out, s, n);
		} else {
			char num[40];
			if (sp_isinteger(L, i))
				snprintf(num, sizeof num, "%lld",
					(long long)lua_tointeger(L, i));
			else
				snprintf(num, sizeof num, "%.17g",
					(double)lua_tonumber(L, i));
			ok = add_bulk(&r->out, num, strlen(num));
		}
	}
	if (!ok) {
		sp_buf_free(&r->out);
		return luaL_error(L, "out of memory");
	}
	ok = roundtrip(r, sp_monotime() + r->timeout, &used);
	sp_buf_wipe(&r->out);
	if (r->out.cap > KEEP_BUFFER)
		sp_buf_free(&r->out);
	if (!ok) {
		conn_release(r);
		return push_failure(L, r);
	}
	r->skip = used;		/* dropped next time, even if pushing raises */
	type = sp_resp_push(L, r->in.data, used);
	drop_reply(r);
	if (type == SP_RESP_T_ERROR) {
		lua_pushnil(L);
		lua_insert(L, -2);
		lua_pushliteral(L, "reply");
		return 3;
	}
	return 1;
}

static int conn_close(lua_State *L)
{
	conn_release(check_conn(L));
	return 0;
}

static int conn_connected(lua_State *L)
{
	lua_pushboolean(L, check_conn(L)->fd >= 0);
	return 1;
}

static int conn_set_timeout(lua_State *L)
{
	sp_redis *r = check_conn(L);
	double t = (double)luaL_checknumber(L, 2);
	if (!(t >= 0.001 && t <= 86400))
		return luaL_error(L, "sendpulse.redis: bad argument #1 to "
			"'set_timeout' (seconds from 0.001 to 86400 expected)");
	r->timeout = t;
	return 0;
}

static int conn_tostring(lua_State *L)
{
	sp_redis *r = check_conn(L);
	lua_pushfstring(L, "sendpulse.redis (%s, db %d%s%s): %p", r->where,
		r->db, r->ssl ? ", tls" : "", r->fd < 0 ? ", closed" : "",
		(void *)r);
	return 1;
}

/* core.random_hex(nbytes) -> hex string */
static int core_random_hex(lua_State *L)
{
	unsigned char raw[64];
	char hex[129];
	lua_Integer n = luaL_checkinteger(L, 1);
	size_t got = 0, i;

	luaL_argcheck(L, n >= 1 && n <= 64, 1, "from 1 to 64 bytes");
	while (got < (size_t)n) {
		ssize_t k = getrandom(raw + got, (size_t)n - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return luaL_error(L, "sendpulse: getrandom: %s",
				strerror(errno));
		}
		got += (size_t)k;
	}
	for (i = 0; i < got; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	lua_pushlstring(L, hex, 2 * got);
	return 1;
}

/* core.sha1_hex(s) -> the hex SHA-1 by which Redis names a script */
static int core_sha1_hex(lua_State *L)
{
	size_t n, i;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(s, n, md, &len, EVP_sha1(), NULL) != 1) {
		ERR_clear_error();
		return luaL_error(L, "sendpulse: SHA-1 failed");
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	lua_pushlstring(L, hex, 2 * (size_t)len);
	return 1;
}

void sp_redis_register(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "call", conn_call },
		{ "close", conn_close },
		{ "connected", conn_connected },
		{ "set_timeout", conn_set_timeout },
		{ NULL, NULL }
	};
	static const luaL_Reg funcs[] = {
		{ "redis_connect", redis_connect },
		{ "random_hex", core_random_hex },
		{ "sha1_hex", core_sha1_hex },
		{ NULL, NULL }
	};

	luaL_checkstack(L, 4, "sp_redis_register");
	if (luaL_newmetatable(L, SP_REDIS_MT)) {
		lua_createtable(L, 0, 4);
		sp_setfuncs(L, methods, 0);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, conn_close);
		lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
		lua_pushcfunction(L, conn_close);
		lua_setfield(L, -2, "__close");
#endif
		lua_pushcfunction(L, conn_tostring);
		lua_setfield(L, -2, "__tostring");
		lua_pushliteral(L, SP_REDIS_MT);
		lua_setfield(L, -2, "__name");
	}
	lua_pop(L, 1);
	sp_setfuncs(L, funcs, 0);
}
