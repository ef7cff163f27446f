/*
 * latency-proxy.c - puts a TCP server far away, on loopback.
 *
 *   latency-proxy -t HOST:PORT [-l PORT] [-d MS] [-j MS] [-s SEED]
 *                 [-T FILE] [-n]
 *
 * Listens on 127.0.0.1:PORT (0, the default: a free port), prints the port
 * on the first line of stdout, and forwards every accepted connection to
 * HOST:PORT, each direction delayed by a one-way time D (-d, in ms) plus,
 * with -j J, a jitter drawn uniformly from [0, J) ms for every piece read
 * (-s seeds it). TERM or INT: it closes every connection, prints a summary
 * on stderr and exits 0.
 *
 * The model (what a path of round-trip time 2D does, and what it does not):
 *
 * - Bytes read from one side at t are written to the other at
 *   max(t + D + jitter, the previous release time of that direction):
 *   release times never decrease within a direction, so jitter never
 *   reorders bytes, it only bunches them.
 * - Connection setup. On loopback the kernel completes the client's
 *   connect() at once, before the proxy can delay anything. So the proxy
 *   accounts for the handshake itself. A client that calls connect() at t0
 *   on a real path sends its SYN at t0; the SYN-ACK is back at t0 + 2D,
 *   when connect() returns and the client may send; its first bytes reach
 *   the server at t0 + 3D; the server's accept() returns when the final
 *   ACK arrives (t0 + 3D), so its first bytes reach the client no earlier
 *   than t0 + 4D. Here: client bytes read before t0 + 2D count as read at
 *   t0 + 2D, server bytes read before t0 + 3D as read at t0 + 3D (t0: when
 *   the proxy accepted). A client speaking first (TLS, HTTP) thus gets its
 *   first answer at t0 + 4D, exactly as on the real path; only the time
 *   its connect() returns differs (at once here, at 2D there), which a
 *   client cannot tell from the data. -n turns this accounting off.
 * - The upstream connection is opened at accept. When it is refused, the
 *   client gets a reset at t0 + 2D, when a real RST would be back.
 * - A FIN (a half-close) travels like data: the other side gets
 *   shutdown(SHUT_WR) once the bytes before it are delivered, and the
 *   other direction keeps flowing. The connection ends when both
 *   directions have delivered their FIN.
 * - A reset (a read or write failing with ECONNRESET, EPIPE or another
 *   error) travels like a FIN but ends the connection: what was still
 *   queued towards the failed side is dropped, the bytes queued before
 *   the reset towards the other side are delivered, then that side is
 *   closed with SO_LINGER 0, which sends it a reset.
 * - Not modelled: bandwidth, loss, congestion windows (a real connection
 *   starts with about 14 kB per round trip and grows; here any amount
 *   passes in one trip), Nagle and delayed ACKs (both sockets here are
 *   TCP_NODELAY; the clients in this project set it too).
 *
 * Backpressure: a direction stops reading once 4 MiB wait in it.
 *
 * -T FILE writes a timeline, one line per event, times in CLOCK_MONOTONIC
 * seconds (the clock the client library stamps its sends with):
 *   T open C               connection C accepted
 *   T up-in C N            N bytes read from the client
 *   T up-out C N           N bytes written to the server
 *   T down-in C N / down-out C N   the same, server to client
 *   T up-fin-in C / up-fin-out C / down-fin-in C / down-fin-out C
 *   T up-rst-in C / up-rst-out C / down-rst-in C / down-rst-out C
 *   T close C
 * Only times, sizes and connection numbers: never a byte of the data.
 *
 * Build: cc -std=gnu99 -O2 -Wall -Wextra -Werror -o build/latency-proxy \
 *            tools/latency-proxy.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/net_tstamp.h>
#if defined(SO_TIMESTAMPING) && defined(SCM_TIMESTAMPING)
#define HAVE_RX_STAMPS 1
#endif
#endif

#define READ_SIZE 65536
#define MAX_QUEUED (4u << 20)

enum { K_DATA, K_FIN, K_RST };
enum { UP, DOWN };		/* flow index: UP reads fd[0], DOWN reads fd[1] */

struct chunk {
	struct chunk *next;
	double release;
	size_t len, off;
	int kind;
	char data[];
};

/* One direction of a connection: reads fd[i], writes fd[1 - i]. */
struct flow {
	struct chunk *head, *tail;
	size_t queued;
	double last;		/* the last release time given out */
	double open_at;		/* bytes read earlier count as read then */
	int read_done;		/* FIN or reset read: nothing more to read */
	int discard;		/* the destination is gone: drop what is read */
	int fin_out;		/* the FIN was delivered */
	int rst_queued;		/* a reset is on its way */
	int want_out;		/* a write would block: poll for POLLOUT */
};

struct conn {
	unsigned id;
	int fd[2];		/* client, server; -1 once closed */
	int connecting;		/* the server connect() is in progress */
	int hup[2];		/* the side hung up: poll it only to write */
	int dead;
	double t0;
	struct flow f[2];
};

struct proxy {
	int lfd;
	struct sockaddr_storage target;
	socklen_t target_len;
	double delay, jitter;	/* seconds */
	int handshake;
	uint64_t rng;
	FILE *timeline;
	struct conn **conns;
	size_t nconns, capconns;
	struct pollfd *pfds;
	size_t cappfds;
	unsigned next_id;
	/* the summary */
	unsigned long accepted, refused;
	unsigned long long bytes[2];
	double late_max, late_sum;
	unsigned long late_n;
	char buf[READ_SIZE];
};

static const char *const FLOW_NAME[2] = { "up", "down" };

/* Set by the TERM/INT handler; the one piece of global state a signal
 * handler needs. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "latency-proxy: %s\n", what);
	exit(2);
}

static void die_errno(const char *what)
{
	fprintf(stderr, "latency-proxy: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* xorshift64*, uniform in [0, 1) */
static double uniform(struct proxy *p)
{
	uint64_t x = p->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->rng = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void event(struct proxy *p, double t, const char *flow,
	const char *what, unsigned id, long n)
{
	if (!p->timeline)
		return;
	if (n >= 0)
		fprintf(p->timeline, "%.6f %s%s %u %ld\n", t, flow, what, id, n);
	else
		fprintf(p->timeline, "%.6f %s%s %u\n", t, flow, what, id);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void want_stamps(int fd)
{
#ifdef HAVE_RX_STAMPS
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
#else
	(void)fd;
#endif
}

static void free_chunks(struct flow *f)
{
	struct chunk *c = f->head, *n;
	while (c) {
		n = c->next;
		free(c);
		c = n;
	}
	f->head = f->tail = NULL;
	f->queued = 0;
}

/* Queues a piece read at t on flow f; returns 0 when out of memory. */
static int enqueue(struct proxy *p, struct flow *f, int kind,
	const char *data, size_t len, double t)
{
	struct chunk *c = malloc(sizeof *c + len);
	double rel;
	if (c == NULL)
		return 0;
	if (t < f->open_at)
		t = f->open_at;
	rel = t + p->delay;
	if (p->jitter > 0)
		rel += p->jitter * uniform(p);
	if (rel < f->last)
		rel = f->last;
	f->last = rel;
	c->next = NULL;
	c->release = rel;
	c->len = len;
	c->off = 0;
	c->kind = kind;
	if (len)
		memcpy(c->data, data, len);
	if (f->tail)
		f->tail->next = c;
	else
		f->head = c;
	f->tail = c;
	f->queued += len;
	return 1;
}

static void close_fd(int *fd, int reset)
{
	if (*fd < 0)
		return;
	if (reset) {
		struct linger lg = { 1, 0 };
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(*fd);
	*fd = -1;
}

/*
 * Side s failed (a reset, a refused connect, an error) at t: it is closed
 * now, what was queued towards it is dropped, and a reset is queued
 * towards the other side, behind the bytes already on their way.
 */
static void side_failed(struct proxy *p, struct conn *c, int s, double t)
{
	struct flow *from = &c->f[s], *to = &c->f[1 - s];
	if (from->rst_queued)
		return;		/* already handled */
	close_fd(&c->fd[s], 0);
	free_chunks(to);
	to->discard = 1;
	to->want_out = 0;
	event(p, t, FLOW_NAME[s], "-rst-in", c->id, -1);
	/* after a FIN too: a side that half-closed, then failed, is gone */
	from->read_done = 1;
	from->rst_queued = 1;
	if (!enqueue(p, from, K_RST, NULL, 0, t))
		c->dead = 1;
}

/* The upstream connection failed: the client gets its reset when a real
 * one would be back, a round trip after the SYN. */
static void connect_failed(struct proxy *p, struct conn *c)
{
	p->refused++;
	c->f[DOWN].open_at = 0;
	side_failed(p, c, 1, c->t0 + p->delay);
}

static void conn_free(struct proxy *p, struct conn *c)
{
	int i;
	for (i = 0; i < 2; i++) {
		close_fd(&c->fd[i], 0);
		free_chunks(&c->f[i]);
	}
	event(p, now_mono(), "", "close", c->id, -1);
	free(c);
}

static void accept_one(struct proxy *p)
{
	struct conn *c, **grown;
	int cfd, sfd;
	double t;

	cfd = accept(p->lfd, NULL, NULL);
	if (cfd < 0)
		return;
	t = now_mono();
	if (!set_nonblock(cfd)) {
		close(cfd);
		return;
	}
	set_nodelay(cfd);
	want_stamps(cfd);
	if (p->nconns == p->capconns) {
		size_t cap = p->capconns ? p->capconns * 2 : 16;
		grown = realloc(p->conns, cap * sizeof *grown);
		if (grown == NULL) {
			close(cfd);
			return;
		}
		p->conns = grown;
		p->capconns = cap;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(cfd);
		return;
	}
	c->id = ++p->next_id;
	c->t0 = t;
	c->fd[0] = cfd;
	c->fd[1] = -1;
	if (p->handshake) {
		c->f[UP].open_at = t + 2 * p->delay;
		c->f[DOWN].open_at = t + 3 * p->delay;
	}
	p->conns[p->nconns++] = c;
	p->accepted++;
	event(p, t, "", "open", c->id, -1);

	sfd = socket(p->target.ss_family, SOCK_STREAM, 0);
	if (sfd < 0 || !set_nonblock(sfd)) {
		if (sfd >= 0)
			close(sfd);
		connect_failed(p, c);
		return;
	}
	set_nodelay(sfd);
	want_stamps(sfd);
	c->fd[1] = sfd;
	if (connect(sfd, (struct sockaddr *)&p->target, p->target_len) == 0)
		return;
	if (errno == EINPROGRESS) {
		c->connecting = 1;
		return;
	}
	connect_failed(p, c);
}

static void connect_done(struct proxy *p, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	c->connecting = 0;
	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		connect_failed(p, c);
}

/*
 * recv() that also says when the bytes reached the socket: the kernel's
 * software receive time (SO_TIMESTAMPING; Linux gives it on TCP sockets,
 * for the last segment read; SO_TIMESTAMPNS it gives only on datagrams),
 * so that a proxy kept off the CPU for a while still delays each piece
 * from when it arrived, not from when it was read. Without it, now.
 */
static ssize_t recv_stamped(int fd, char *buf, size_t len, double *t)
{
	struct iovec iov = { buf, len };
	union {
		char buf[CMSG_SPACE(3 * sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;
	double now;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	n = recvmsg(fd, &msg, 0);
	now = now_mono();
	*t = now;
#ifdef HAVE_RX_STAMPS
	for (cm = CMSG_FIRSTHDR(&msg); n > 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
				cm->cmsg_type == SCM_TIMESTAMPING) {
			/* three stamps: software, (legacy), hardware */
			struct timespec ts, rt;
			double arrived;
			memcpy(&ts, CMSG_DATA(cm), sizeof ts);
			clock_gettime(CLOCK_REALTIME, &rt);
			arrived = now - ((double)(rt.tv_sec - ts.tv_sec) +
				(double)(rt.tv_nsec - ts.tv_nsec) / 1e9);
			/* a clock step would make nonsense: keep it sane */
			if (arrived <= now && arrived > now - 1.0)
				*t = arrived;
		}
	}
#else
	(void)cm;
#endif
	return n;
}

/* Reads what side s has to say. */
static void read_side(struct proxy *p, struct conn *c, int s)
{
	struct flow *f = &c->f[s];
	ssize_t n;
	double t;

	n = recv_stamped(c->fd[s], p->buf, sizeof p->buf, &t);
	if (n > 0) {
		event(p, t, FLOW_NAME[s], "-in", c->id, (long)n);
		if (f->discard)
			return;
		if (!enqueue(p, f, K_DATA, p->buf, (size_t)n, t))
			side_failed(p, c, s, t);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n == 0) {
		event(p, t, FLOW_NAME[s], "-fin-in", c->id, -1);
		f->read_done = 1;
		if (f->discard)
			return;
		if (!enqueue(p, f, K_FIN, NULL, 0, t))
			c->dead = 1;
		return;
	}
	side_failed(p, c, s, t);
}

/* Writes what is due on flow i (towards side 1 - i). */
static void write_flow(struct proxy *p, struct conn *c, int i, double now)
{
	struct flow *f = &c->f[i];
	int d = 1 - i;
	struct chunk *ch;
	ssize_t n;

	f->want_out = 0;
	while ((ch = f->head) != NULL && ch->release <= now) {
		if (c->fd[d] < 0 || (d == 1 && c->connecting))
			return;
		if (ch->off == 0) {
			double late = now - ch->release;
			if (late > p->late_max)
				p->late_max = late;
			p->late_sum += late;
			p->late_n++;
		}
		if (ch->kind == K_DATA) {
			n = send(c->fd[d], ch->data + ch->off, ch->len - ch->off,
				MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
						errno == EINTR) {
					f->want_out = 1;
					return;
				}
				side_failed(p, c, d, now);
				return;
			}
			event(p, now, FLOW_NAME[i], "-out", c->id, (long)n);
			p->bytes[i] += (unsigned long long)n;
			ch->off += (size_t)n;
			f->queued -= (size_t)n;
			if (ch->off < ch->len) {
				f->want_out = 1;
				return;
			}
		} else if (ch->kind == K_FIN) {
			shutdown(c->fd[d], SHUT_WR);
			f->fin_out = 1;
			event(p, now, FLOW_NAME[i], "-fin-out", c->id, -1);
		} else {
			event(p, now, FLOW_NAME[i], "-rst-out", c->id, -1);
			close_fd(&c->fd[d], 1);
			c->dead = 1;
		}
		f->head = ch->next;
		if (f->head == NULL)
			f->tail = NULL;
		free(ch);
		if (c->dead)
			return;
	}
}

static int conn_finished(const struct conn *c)
{
	if (c->dead)
		return 1;
	/* both FINs delivered, or one side gone and nothing left to deliver */
	return (c->f[UP].fin_out || c->f[UP].discard) &&
		(c->f[DOWN].fin_out || c->f[DOWN].discard) &&
		c->f[UP].head == NULL && c->f[DOWN].head == NULL &&
		c->f[UP].read_done && c->f[DOWN].read_done;
}

static void sweep(struct proxy *p)
{
	size_t i = 0;
	while (i < p->nconns) {
		if (conn_finished(p->conns[i])) {
			conn_free(p, p->conns[i]);
			p->conns[i] = p->conns[--p->nconns];
		} else {
			i++;
		}
	}
}

/* Writes what is due; returns the time of the next release, or HUGE_VAL. */
static double pump(struct proxy *p)
{
	double now = now_mono(), next = HUGE_VAL;
	size_t k;
	int i;
	for (k = 0; k < p->nconns; k++) {
		struct conn *c = p->conns[k];
		for (i = 0; i < 2 && !c->dead; i++) {
			struct flow *f = &c->f[i];
			if (f->head && f->head->release <= now && !f->want_out)
				write_flow(p, c, i, now);
			if (f->head && !f->want_out && f->head->release > now &&
					f->head->release < next)
				next = f->head->release;
		}
	}
	sweep(p);
	return next;
}

static int grow_pfds(struct proxy *p, size_t n)
{
	struct pollfd *grown;
	if (n <= p->cappfds)
		return 1;
	grown = realloc(p->pfds, n * 2 * sizeof *grown);
	if (grown == NULL)
		return 0;
	p->pfds = grown;
	p->cappfds = n * 2;
	return 1;
}

/* TERM and INT are blocked but while waiting in ppoll, so that one arriving
 * between the check of stop_requested and the wait cannot be missed. */
static void loop(struct proxy *p, const sigset_t *waitmask)
{
	while (!stop_requested) {
		double next = pump(p), wait = 0;
		size_t k, n = 1, nc;
		struct timespec ts, *tsp = NULL;
		int i, r;

		if (!grow_pfds(p, 1 + 2 * p->nconns))
			die("out of memory");
		p->pfds[0].fd = p->lfd;
		p->pfds[0].events = POLLIN;
		p->pfds[0].revents = 0;
		nc = p->nconns;
		for (k = 0; k < nc; k++) {
			struct conn *c = p->conns[k];
			for (i = 0; i < 2; i++) {
				struct pollfd *pf = &p->pfds[n++];
				struct flow *in = &c->f[i], *out = &c->f[1 - i];
				pf->fd = c->fd[i];
				pf->events = 0;
				pf->revents = 0;
				if (c->fd[i] < 0 || (c->hup[i] && !out->want_out)) {
					pf->fd = -1;
					continue;
				}
				if (!in->read_done && in->queued < MAX_QUEUED &&
						!(i == 1 && c->connecting))
					pf->events |= POLLIN;
				if (out->want_out || (i == 1 && c->connecting))
					pf->events |= POLLOUT;
			}
		}
		if (next < HUGE_VAL) {
			wait = next - now_mono();
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			tsp = &ts;
		}
		if (p->timeline && (tsp == NULL || wait > 0.001))
			fflush(p->timeline);
		r = ppoll(p->pfds, n, tsp, waitmask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		if (r == 0)
			continue;
		/* connections accepted below are polled from the next round */
		n = 1;
		for (k = 0; k < nc; k++) {
			struct conn *c = p->conns[k];
			for (i = 0; i < 2; i++) {
				struct pollfd *pf = &p->pfds[n++];
				if (pf->fd < 0 || pf->revents == 0 || c->dead ||
						c->fd[i] != pf->fd)
					continue;
				if (i == 1 && c->connecting) {
					connect_done(p, c);
					continue;
				}
				if (pf->revents & POLLOUT)
					c->f[1 - i].want_out = 0;
				if (pf->revents & (POLLIN | POLLHUP | POLLERR)) {
					if (!c->f[i].read_done) {
						read_side(p, c, i);
					} else if (pf->revents & POLLERR) {
						side_failed(p, c, i, now_mono());
					} else if (pf->revents & POLLHUP) {
						/* both ways shut: nothing to read,
						 * and POLLHUP would repeat */
						c->hup[i] = 1;
					}
				}
			}
		}
		if (p->pfds[0].revents & POLLIN) {
			int burst;
			for (burst = 0; burst < 64; burst++) {
				size_t before = p->nconns;
				accept_one(p);
				if (p->nconns == before)
					break;
			}
		}
	}
}

static void parse_target(struct proxy *p, const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints, *res;
	size_t hl;
	int rc;

	if (colon == NULL || colon == spec || colon[1] == '\0')
		die("-t wants HOST:PORT");
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		die("-t: host name too long");
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "latency-proxy: -t %s: %s\n", spec, gai_strerror(rc));
		exit(2);
	}
	memcpy(&p->target, res->ai_addr, res->ai_addrlen);
	p->target_len = res->ai_addrlen;
	freeaddrinfo(res);
}

static double parse_ms(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= 0) || v > 600000) {
		fprintf(stderr, "latency-proxy: %s wants milliseconds >= 0, "
			"got '%s'\n", opt, s);
		exit(2);
	}
	return v / 1000.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: latency-proxy -t HOST:PORT [-l PORT] [-d MS] "
		"[-j MS] [-s SEED] [-T FILE] [-n]\n"
		"  -t  where to forward (connections are accepted on "
		"127.0.0.1 only)\n"
		"  -l  port to listen on (0, the default: a free one, printed)\n"
		"  -d  one-way delay, ms (default 0)\n"
		"  -j  jitter: up to this many ms more, per piece (default 0)\n"
		"  -s  seed of the jitter (default 1)\n"
		"  -T  write a timeline of the events (no data) to FILE\n"
		"  -n  no connection-setup accounting (see the source)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct proxy *p = calloc(1, sizeof *p);
	struct sockaddr_in addr;
	socklen_t alen = sizeof addr;
	struct sigaction sa;
	sigset_t block, waitmask;
	const char *target = NULL, *timeline = NULL;
	long port = 0;
	unsigned long long seed = 1;
	int opt, one = 1;
	size_t k;

	if (p == NULL)
		die("out of memory");
	p->handshake = 1;
	while ((opt = getopt(argc, argv, "t:l:d:j:s:T:nh")) != -1) {
		char *end;
		switch (opt) {
		case 't': target = optarg; break;
		case 'l':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 0 || port > 65535)
				die("-l wants a port number");
			break;
		case 'd': p->delay = parse_ms("-d", optarg); break;
		case 'j': p->jitter = parse_ms("-j", optarg); break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end != '\0')
				die("-s wants an integer");
			break;
		case 'T': timeline = optarg; break;
		case 'n': p->handshake = 0; break;
		default: usage();
		}
	}
	if (target == NULL || optind != argc)
		usage();
	parse_target(p, target);
	/* a seed of 0 would keep xorshift at 0 */
	p->rng = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
	if (timeline) {
		p->timeline = fopen(timeline, "w");
		if (p->timeline == NULL)
			die_errno(timeline);
	}

	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->lfd < 0)
		die_errno("socket");
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	if (bind(p->lfd, (struct sockaddr *)&addr, sizeof addr) != 0)
		die_errno("bind");
	if (listen(p->lfd, 512) != 0)
		die_errno("listen");
	if (!set_nonblock(p->lfd))
		die_errno("fcntl");
	if (getsockname(p->lfd, (struct sockaddr *)&addr, &alen) != 0)
		die_errno("getsockname");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	printf("%u\n", (unsigned)ntohs(addr.sin_port));
	fflush(stdout);

	loop(p, &waitmask);

	for (k = 0; k < p->nconns; k++)
		conn_free(p, p->conns[k]);
	close(p->lfd);
	fprintf(stderr, "latency-proxy: %lu connections (%lu refused), %llu bytes "
		"up, %llu down; releases late by %.3f ms at most, %.3f ms on "
		"average\n", p->accepted, p->refused, p->bytes[UP], p->bytes[DOWN],
		p->late_max * 1000, p->late_n ? p->late_sum / (double)p->late_n *
		1000 : 0.0);
	if (p->timeline)
		fclose(p->timeline);
	free(p->conns);
	free(p->pfds);
	free(p);
	return 0;
}
