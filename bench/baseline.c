/*
 * baseline.c - the floor for `make bench`: sequential GET /user/info with
 * one reused libcurl easy handle, nothing else.
 *
 * It sends what lua-sendpulse sends for client:user_info() (same URL, same
 * header lines: Accept, Expect:, Authorization: Bearer <token>, the same
 * User-Agent; the same HTTP version) and reads the whole body into a buffer, but
 * does not parse the JSON. The token is fetched first with POST
 * /oauth/access_token on the same handle (which also opens the
 * connection), then WARMUP calls; then it waits for commands.
 *
 * usage: baseline BASE_URL CA_FILE CLIENT_ID CLIENT_SECRET WARMUP UA [PROTO]
 *   PROTO  "1.1" or "2": the HTTP version to ask for (bench/run passes the
 *          one lua-sendpulse negotiated); default: libcurl's default
 * After the warm-up it prints "ready" and serves commands on stdin, one a
 * line, answering with "key value" lines and a final "end":
 *   run SECONDS   50 untimed calls, then calls for SECONDS:
 *                 calls N / seconds S / rate R / cpu C (process CPU s)
 *   info          http_version V / libcurl VERSION
 *   quit (or end of input)
 * exits 1 on any failure (with a message on stderr).
 *
 * Built by bench/run: cc -O2 -o build/bench/baseline bench/baseline.c -lcurl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct buf {
	char *data;
	size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;
		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cputime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "baseline: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

/* One GET on the prepared handle; the whole body lands in b. */
static void get(CURL *e, struct buf *b, char *errbuf)
{
	CURLcode rc;
	long status = 0;
	b->len = 0;
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK)
		die("GET failed", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || b->len == 0) {
		fprintf(stderr, "baseline: GET: HTTP %ld, %lu bytes\n",
			status, (unsigned long)b->len);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *base, *ca, *id, *secret, *ua;
	double seconds, t0, t1 = 0;
	long warmup, i, calls = 0, status = 0, httpver = 0;
	char url[2048], probe[2048], post[1024], line[256], *auth, *tok, *end;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	struct buf b = { NULL, 0, 0 };
	CURL *e;
	CURLcode rc;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: %s BASE_URL CA_FILE CLIENT_ID CLIENT_SECRET "
			"WARMUP USER_AGENT [1.1|2]\n", argv[0]);
		return 2;
	}
	base = argv[1];
	ca = argv[2];
	id = argv[3];
	secret = argv[4];
	warmup = atol(argv[5]);
	ua = argv[6];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed", NULL);
	e = curl_easy_init();
	if (e == NULL)
		die("curl_easy_init failed", NULL);
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_PROXY, "");	/* loopback, never a proxy */
	curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (argc == 8 && strcmp(argv[7], "1.1") == 0)
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	else if (argc == 8 && strcmp(argv[7], "2") == 0)
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);

	/* the token, on the same handle (this opens the connection) */
	snprintf(url, sizeof url, "%s/oauth/access_token", base);
	snprintf(post, sizeof post, "{\"grant_type\":\"client_credentials\","
		"\"client_id\":\"%s\",\"client_secret\":\"%s\"}", id, secret);
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK)
		die("POST /oauth/access_token failed",
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || b.len == 0)
		die("POST /oauth/access_token: no token", b.data);
	tok = strstr(b.data, "\"access_token\"");
	if (tok == NULL || (tok = strchr(tok + 14, '"')) == NULL ||
			(end = strchr(tok + 1, '"')) == NULL)
		die("no access_token in the token response", b.data);
	tok++;
	*end = '\0';
	auth = malloc(strlen(tok) + 32);
	if (auth == NULL)
		die("out of memory", NULL);
	sprintf(auth, "Authorization: Bearer %s", tok);
	curl_slist_free_all(hdrs);

	/* the request under test, set up once */
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, auth);
	if (hdrs == NULL)
		die("out of memory", NULL);
	snprintf(url, sizeof url, "%s/user/info", base);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);

	for (i = 0; i < warmup; i++)
		get(e, &b, errbuf);
	if (strstr(b.data, "\"email\"") == NULL)
		die("unexpected /user/info body", b.data);

	/* one request that the server logs with its protocol (bench/run
	 * shows it) */
	snprintf(probe, sizeof probe, "%s/__bench/probe?who=c", base);
	curl_easy_setopt(e, CURLOPT_URL, probe);
	get(e, &b, errbuf);
	curl_easy_setopt(e, CURLOPT_URL, url);

	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (sscanf(line, "run %lf", &seconds) == 1) {
			double c0, c1;
			for (i = 0; i < 50; i++)
				get(e, &b, errbuf);
			calls = 0;
			c0 = cputime();
			t0 = now();
			do {
				get(e, &b, errbuf);
				calls++;
				t1 = now();
			} while (t1 - t0 < seconds);
			c1 = cputime();
			printf("calls %ld\nseconds %.6f\nrate %.1f\ncpu %.4f\n", calls,
				t1 - t0, (double)calls / (t1 - t0), c1 - c0);
		} else if (strncmp(line, "info", 4) == 0) {
			curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &httpver);
			printf("http_version %s\n",
				httpver == CURL_HTTP_VERSION_2_0 ? "2"
				: httpver == CURL_HTTP_VERSION_1_1 ? "1.1"
				: httpver == CURL_HTTP_VERSION_1_0 ? "1.0" : "?");
			printf("libcurl %s\n",
				curl_version_info(CURLVERSION_NOW)->version);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		} else {
			printf("error unknown command\n");
		}
		printf("end\n");
		fflush(stdout);
	}

	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	free(auth);
	free(b.data);
	curl_global_cleanup();
	return 0;
}
