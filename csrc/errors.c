/*
 * errors.c - from HTTP statuses, JSON error bodies and libcurl codes to one
 * error object: { kind, status, code, message, retry_after, body, method,
 * path } with a one-line __tostring.
 *
 * Secrets (client secret, API key, access tokens) are cut out of every
 * string that goes into an error, whatever the server chose to echo and
 * however it encoded it (redact.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

const char *const sp_method_names[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE"
};

const char *const sp_kind_names[] = {
	"api", "auth", "rate_limit", "http", "timeout", "tls", "transport",
	"decode", "callback"
};

const char *sp_fate_name(int fate)
{
	return fate == SP_FATE_MAYBE ? "maybe" : fate == SP_FATE_YES ? "yes"
		: "no";
}

/* The error table of the service's own API introduction, verbatim. */
static const struct {
	long long code;
	const char *text;
} seed_errors[] = {
	{ 8, "No data" },
	{ 10, "Sender email address missing" },
	{ 11, "Can’t find recipients addresses" },
	{ 13, "Empty email message content field" },
	{ 14, "Can’t find email address with the specified ID" },
	{ 17, "Can’t find the email address" },
	{ 19, "Email address already exists" },
	{ 20, "Using free email services (not allowed)" },
	{ 21, "No such email address awaiting activation" },
	{ 97, "Invalid email address type. Using free email services is not allowed." },
	{ 201, "Empty mailing list name" },
	{ 203, "This mailing list name already exists" },
	{ 211, "Mailing list empty" },
	{ 213, "Mailing list not found" },
	{ 303, "Can’t find email addresses in the mailing list" },
	{ 400, "Specified SMTP user doesn’t exist. Create an SMTP account." },
	{ 502, "Can’t find the email address" },
	{ 602, "Can’t find the campaign. Probably, it has already been sent." },
	{ 701, "Sender email address or name not specified." },
	{ 703, "Can’t find the mailing list" },
	{ 704, "Can’t find the sender" },
	{ 707, "Account balance depleted" },
	{ 708, "The number of campaign recipients exceeds your current pricing plan limits" },
	{ 711, "Wait before create new push campaign by this website" },
	{ 720, "Empty subject field" },
	{ 721, "Email message empty" },
	{ 722, "Mailing list ID not specified" },
	{ 791, "API-campaigns limit exceeded (4 per hour)" },
	{ 799, "Incorrect date format. Use YYYY-MM-DD hh:ii:ss that equals or greater than the current date" },
	{ 800, "Invalid operation" },
	{ 802, "Campaign not found" },
	{ 901, "Sender name not specified" },
	{ 902, "Selected email address already in use" },
	{ 903, "Sender email address not specified" },
	{ 904, "Email address blacklisted" },
	{ 905, "Sender address quota reached" },
	{ 906, "Email address syntax error" },
	{ 1101, "Email address not specified" },
	{ 1003, "The specified sender doesn’t exist" },
	{ 1004, "The activation code has been sent. Wait 15 minutes to retry" },
	{ 1005, "Error sending confirmation" },
	{ 1104, "Activation code not specified" },
	{ 2020202020, "More than 10 requests per second" },
};

#define NSEED (sizeof seed_errors / sizeof seed_errors[0])

const char *sp_seed_error_text(long long code)
{
	size_t i;
	for (i = 0; i < NSEED; i++)
		if (seed_errors[i].code == code)
			return seed_errors[i].text;
	return NULL;
}

/* ---- the error object -------------------------------------------------- */

void sp_push_error_k(lua_State *L, sp_client *c, sp_call *k,
	const sp_errinfo *e)
{
	sp_secrets sec;

	luaL_checkstack(L, 4, "error object");
	sp_secrets_of(c, k, &sec);
	lua_createtable(L, 0, 8);
	lua_pushstring(L, sp_kind_names[e->kind]);
	lua_setfield(L, -2, "kind");
	if (e->status > 0) {
		lua_pushinteger(L, e->status);
		lua_setfield(L, -2, "status");
	}
	if (e->has_code) {
		sp_pushint(L, e->code);
		lua_setfield(L, -2, "code");
	}
	sp_push_redacted(L, &sec, e->message, e->message_len,
		SP_ERROR_MESSAGE_MAX);
	lua_setfield(L, -2, "message");
	if (e->retry_after >= 0) {
		lua_pushnumber(L, e->retry_after);
		lua_setfield(L, -2, "retry_after");
	}
	if (e->body) {
		/* (redacted first and cut after: a secret across the limit
		 * leaves none of its bytes behind) */
		sp_push_redacted(L, &sec, e->body, e->body_len,
			SP_ERROR_BODY_MAX);
		lua_setfield(L, -2, "body");
	}
	if (e->method) {
		lua_pushstring(L, e->method);
		lua_setfield(L, -2, "method");
	}
	if (e->path) {
		sp_push_redacted(L, &sec, e->path, e->path_len,
			SP_ERROR_PATH_MAX);
		lua_setfield(L, -2, "path");
	}
	if (k && k->attempts) {
		lua_pushinteger(L, k->attempts);
		lua_setfield(L, -2, "attempts");
	}
	if (k) {
		lua_pushstring(L, sp_fate_name(k->fate));
		lua_setfield(L, -2, "sent");
	}
	if (e->quota) {
		lua_pushstring(L, e->quota);
		lua_setfield(L, -2, "quota");
	}
	luaL_getmetatable(L, SP_ERROR_MT);
	lua_setmetatable(L, -2);
}

void sp_push_error(lua_State *L, sp_client *c, const sp_errinfo *e)
{
	sp_push_error_k(L, c, NULL, e);
}

/* The request's method and path (query dropped) for the error. */
static void describe_request(sp_call *k, sp_errinfo *e)
{
	const sp_buf *t = k->req_is_token ? &k->client->token_target : &k->target;
	const char *base = k->client->base_path.data ? k->client->base_path.data
		: "";
	size_t blen = strlen(base), n = 0;
	const char *s = t->data ? t->data : "";

	/* show the API path as the caller wrote it, without the base prefix
	 * or the query; whole, so that redaction sees every secret whole */
	if (blen && strncmp(s, base, blen) == 0)
		s += blen;
	while (s[n] && s[n] != '?')
		n++;
	e->method = sp_method_names[k->req_is_token ? SP_POST : k->method];
	e->path = s;
	e->path_len = n;
}

/*
 * Reads the response's error body once (the retry logic and the error
 * object both want it): its error_code and message, when it is JSON of at
 * most SP_ERROR_DECODE_MAX bytes. Larger error bodies are not decoded:
 * nothing in them is worth the memory.
 */
static void read_error_body(lua_State *L, sp_call *k)
{
	static const char *const fields[] = {
		"message", "error_description", "error", NULL
	};
	const char *s = k->resp.data ? k->resp.data : "";
	size_t i = 0;
	int f;

	if (k->ebody_read)
		return;
	k->ebody_read = 1;
	k->ebody_json = k->ebody_has_code = k->ebody_big = 0;
	k->ebody_code = 0;
	k->ebody_where[0] = '\0';
	sp_buf_clear(&k->ebody_message);
	while (i < k->resp.len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
			s[i] == '\t'))
		i++;
	if (i >= k->resp.len || (s[i] != '{' && s[i] != '['))
		return;
	if (k->resp.len > SP_ERROR_DECODE_MAX) {
		k->ebody_big = 1;
		return;
	}
	if (!sp_json_decode(L, s, k->resp.len, 0, k->ebody_where,
			sizeof k->ebody_where))
		return;
	k->ebody_json = 1;
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	lua_getfield(L, -1, "error_code");
	if (sp_isinteger(L, -1)) {
#if SP_HAVE_INTEGERS
		k->ebody_has_code = 1;
		k->ebody_code = (long long)lua_tointeger(L, -1);
#endif
	} else if (lua_type(L, -1) == LUA_TNUMBER) {
		/* an integral float within range; 1e300 is no error code */
		double v = (double)lua_tonumber(L, -1);
		if (v == floor(v) && v >= -9.2e18 && v <= 9.2e18) {
			k->ebody_has_code = 1;
			k->ebody_code = (long long)v;
		}
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		const char *cs = lua_tostring(L, -1);
		char *endp;
		long long v;
		errno = 0;
		v = strtoll(cs, &endp, 10);
		if (*cs && *endp == '\0' && errno == 0) {
			k->ebody_has_code = 1;
			k->ebody_code = v;
		}
	}
	lua_pop(L, 1);
	for (f = 0; fields[f]; f++) {
		lua_getfield(L, -1, fields[f]);
		if (lua_type(L, -1) == LUA_TSTRING && sp_rawlen(L, -1) > 0) {
			size_t n;
			const char *m = lua_tolstring(L, -1, &n);
			if (!sp_buf_set(&k->ebody_message, m, n))
				sp_buf_clear(&k->ebody_message);
			lua_pop(L, 1);
			break;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* The response's error_code, decoding the body only when it may hold one. */
int sp_response_error_code(lua_State *L, sp_call *k, long long *code)
{
	read_error_body(L, k);
	*code = k->ebody_code;
	return k->ebody_has_code;
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

/*
 * Classifies a non-success response: what the retry logic and the error
 * object agree on. kind_hint >= 0 forces the kind (a failed token fetch is
 * an "auth" error whatever its shape).
 */
static int response_kind(const sp_call *k, const sp_errinfo *e, int is_json,
	int kind_hint)
{
	if (kind_hint >= 0)
		return kind_hint;
	if (k->status == 429 || (e->has_code && e->code == 2020202020LL))
		return SP_KIND_RATE_LIMIT;
	if (k->status == 401)
		return SP_KIND_AUTH;
	if (k->status >= 200 && k->status < 300)
		return SP_KIND_DECODE;
	if (is_json && (e->has_code || e->message))
		return SP_KIND_API;
	return SP_KIND_HTTP;
}

void sp_push_response_error(lua_State *L, sp_call *k, int kind_hint,
	double retry_after)
{
	sp_errinfo e;
	char desc[320];
	const char *body = k->resp.data ? k->resp.data : "";

	read_error_body(L, k);
	memset(&e, 0, sizeof e);
	e.has_code = k->ebody_has_code;
	e.code = k->ebody_code;
	if (k->ebody_message.len) {
		e.message = k->ebody_message.data;
		e.message_len = k->ebody_message.len;
	}
	e.kind = response_kind(k, &e, k->ebody_json, kind_hint);
	e.status = k->status;
	e.retry_after = e.kind == SP_KIND_RATE_LIMIT ? retry_after : -1;
	if (e.kind == SP_KIND_RATE_LIMIT)
		e.quota = k->status == 429 && !(e.has_code &&
			e.code == 2020202020LL) ? "plan" : "per_second";
	e.body = body;
	e.body_len = k->resp.len;
	describe_request(k, &e);

	if (e.message == NULL && e.has_code) {
		e.message = sp_seed_error_text(e.code);
		if (e.message)
			e.message_len = strlen(e.message);
	}
	if (e.message == NULL) {
		size_t i = 0;
		while (i < k->resp.len && (body[i] == ' ' || body[i] == '\n' ||
				body[i] == '\r' || body[i] == '\t'))
			i++;
		if (e.kind == SP_KIND_RATE_LIMIT) {
			snprintf(desc, sizeof desc, "%s", e.quota[0] == 'p' &&
					e.quota[1] == 'l'
				? "Too many requests (HTTP 429 without the per-second "
				  "error code: a quota of the plan, or the token "
				  "endpoint's throttle)"
				: sp_seed_error_text(2020202020LL));
		} else if (e.kind == SP_KIND_API && k->status >= 200 &&
				k->status < 300) {
			snprintf(desc, sizeof desc, "the server answered HTTP %d "
				"with false instead of a result", k->status);
		} else if (k->resp.len == 0) {
			snprintf(desc, sizeof desc, "HTTP %d %s with an empty body",
				k->status, status_text(k->status));
		} else if (body[i] == '<') {
			snprintf(desc, sizeof desc, "HTTP %d %s (an HTML page, not "
				"JSON)", k->status, status_text(k->status));
		} else if (k->ebody_big) {
			snprintf(desc, sizeof desc, "HTTP %d %s (a %lu-byte body, "
				"too large to read as an error)", k->status,
				status_text(k->status), (unsigned long)k->resp.len);
		} else if (!k->ebody_json && k->ebody_where[0]) {
			/* say where the JSON broke: useful for truncated bodies */
			snprintf(desc, sizeof desc, "HTTP %d %s: the body is not "
				"valid JSON (%s)", k->status, status_text(k->status),
				k->ebody_where);
		} else if (!k->ebody_json && k->status >= 200 && k->status < 300) {
			char err[128] = "";
			int decoded = 0;
			/* a 2xx that the success path did not take, whose error
			 * body does not start as an object: decode it once to say
			 * where it broke. A JSON scalar ("42") decodes: pop it, so
			 * that this function still pushes exactly the error. */
			if (k->resp.len <= SP_ERROR_DECODE_MAX) {
				decoded = sp_json_decode(L, body, k->resp.len, 0,
					err, sizeof err);
				if (decoded)
					lua_pop(L, 1);
			}
			if (decoded)
				snprintf(desc, sizeof desc, "HTTP %d %s: the body is "
					"not a result", k->status,
					status_text(k->status));
			else if (err[0])
				snprintf(desc, sizeof desc, "HTTP %d %s: the body is "
					"not valid JSON (%s)", k->status,
					status_text(k->status), err);
			else
				snprintf(desc, sizeof desc, "HTTP %d %s: the body is "
					"not valid JSON", k->status,
					status_text(k->status));
		} else {
			snprintf(desc, sizeof desc, "HTTP %d %s", k->status,
				status_text(k->status));
		}
		e.message = desc;
		e.message_len = strlen(desc);
	}
	sp_push_error_k(L, k->client, k, &e);
}

int sp_failure_kind(int code)
{
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return SP_KIND_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return SP_KIND_TLS;
	default:
		return SP_KIND_TRANSPORT;
	}
}

void sp_push_failure_error(lua_State *L, sp_call *k)
{
	sp_errinfo e;

	memset(&e, 0, sizeof e);
	e.kind = sp_failure_kind(k->failure);
	e.status = k->status;
	e.has_code = 1;
	e.code = k->failure;
	e.retry_after = -1;
	if (k->errmsg.len) {
		e.message = k->errmsg.data;
		e.message_len = k->errmsg.len;
	} else {
		e.message = curl_easy_strerror((CURLcode)k->failure);
		e.message_len = strlen(e.message);
	}
	describe_request(k, &e);
	sp_push_error_k(L, k->client, k, &e);
}

/* A rate limit the client stopped at without sending: a quota of the
 * plan spent, or a pacing wait longer than the call may take. */
void sp_push_quota_error(lua_State *L, sp_call *k, const char *quota,
	double retry_after, const char *message)
{
	sp_errinfo e;
	memset(&e, 0, sizeof e);
	e.kind = SP_KIND_RATE_LIMIT;
	e.retry_after = retry_after;
	e.quota = quota;
	e.message = message;
	e.message_len = strlen(message);
	describe_request(k, &e);
	sp_push_error_k(L, k->client, k, &e);
}

void sp_push_plain_error(lua_State *L, sp_call *k, int kind,
	const char *message)
{
	sp_errinfo e;
	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.retry_after = -1;
	e.message = message;
	e.message_len = strlen(message);
	if (k)
		describe_request(k, &e);
	sp_push_error_k(L, k ? k->client : NULL, k, &e);
}

/* ---- __tostring and registration --------------------------------------- */

/* Copies s into out (size n) on one line: CR, LF and tabs become spaces,
 * long text is cut with "...". */
static void one_line(char *out, size_t n, const char *s)
{
	size_t i = 0;
	for (; *s && i + 1 < n; s++)
		out[i++] = (*s == '\r' || *s == '\n' || *s == '\t') ? ' ' : *s;
	out[i] = '\0';
	if (*s && n > 4)
		memcpy(out + n - 4, "...", 4);
}

/* "sendpulse api error 213: Mailing list not found (GET /addressbooks/7,
 *  HTTP 404)" */
static int error_tostring(lua_State *L)
{
	char msg[600], head[96], tail[700], code[40] = "";
	const char *kind, *method, *path;
	int status;
	double retry_after;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "kind");
	lua_getfield(L, 1, "code");
	lua_getfield(L, 1, "message");
	lua_getfield(L, 1, "method");
	lua_getfield(L, 1, "path");
	lua_getfield(L, 1, "status");
	lua_getfield(L, 1, "retry_after");
	kind = lua_isstring(L, 2) ? lua_tostring(L, 2) : "unknown";
	if (lua_type(L, 3) == LUA_TNUMBER) {
#if SP_HAVE_INTEGERS
		if (lua_isinteger(L, 3))
			snprintf(code, sizeof code, " %lld",
				(long long)lua_tointeger(L, 3));
		else
#endif
			snprintf(code, sizeof code, " %.0f",
				(double)lua_tonumber(L, 3));
	}
	one_line(msg, sizeof msg, lua_isstring(L, 4) ? lua_tostring(L, 4)
		: "(no message)");
	method = lua_isstring(L, 5) ? lua_tostring(L, 5) : NULL;
	path = lua_isstring(L, 6) ? lua_tostring(L, 6) : NULL;
	if (lua_type(L, 7) == LUA_TNUMBER) {
		/* a user may have changed the field: keep the cast defined */
		double v = (double)lua_tonumber(L, 7);
		status = v >= 1 && v <= 999 ? (int)v : 0;
	} else {
		status = 0;
	}
	retry_after = lua_type(L, 8) == LUA_TNUMBER ? (double)lua_tonumber(L, 8)
		: -1;

	snprintf(head, sizeof head, "sendpulse %s error%s", kind, code);
	tail[0] = '\0';
	if (method || path || status || retry_after >= 0) {
		char pathbuf[400] = "";
		if (path)
			one_line(pathbuf, sizeof pathbuf, path);
		snprintf(tail, sizeof tail, " (%s%s%s%s%s", method ? method : "",
			method && path ? " " : "", pathbuf,
			(method || path) && status ? ", " : "", "");
		if (status)
			snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
				"HTTP %d", status);
		if (retry_after >= 0)
			snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
				"%sretry after %gs",
				(method || path || status) ? ", " : "", retry_after);
		snprintf(tail + strlen(tail), sizeof tail - strlen(tail), ")");
	}
	lua_pushfstring(L, "%s: %s%s", head, msg, tail);
	return 1;
}

/* core.failure_codes: the libcurl numbers a Lua transport reports its
 * failures with (call:set_failure), so that errors read the same whatever
 * did the I/O. */
void sp_failure_codes_register(lua_State *L)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = {
		{ "couldnt_connect", CURLE_COULDNT_CONNECT },
		{ "weird_server_reply", CURLE_WEIRD_SERVER_REPLY },
		{ "partial_file", CURLE_PARTIAL_FILE },
		{ "timeout", CURLE_OPERATION_TIMEDOUT },
		{ "ssl_connect", CURLE_SSL_CONNECT_ERROR },
		{ "got_nothing", CURLE_GOT_NOTHING },
		{ "send_error", CURLE_SEND_ERROR },
		{ "recv_error", CURLE_RECV_ERROR },
		{ "peer_verification", CURLE_PEER_FAILED_VERIFICATION },
		{ "filesize_exceeded", CURLE_FILESIZE_EXCEEDED },
	};
	size_t i;
	lua_createtable(L, 0, (int)(sizeof codes / sizeof codes[0]));
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		lua_pushinteger(L, codes[i].code);
		lua_setfield(L, -2, codes[i].name);
	}
	lua_setfield(L, -2, "failure_codes");
}

void sp_errors_register(lua_State *L)
{
	size_t i;

	/* core.errors: seed code -> text */
	lua_createtable(L, 0, (int)NSEED);
	for (i = 0; i < NSEED; i++) {
		sp_pushint(L, seed_errors[i].code);
		lua_pushstring(L, seed_errors[i].text);
		lua_rawset(L, -3);
	}
	lua_setfield(L, -2, "errors");

	/* the error metatable */
	luaL_newmetatable(L, SP_ERROR_MT);
	lua_pushcfunction(L, error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "sendpulse.Error");
	lua_setfield(L, -2, "__name");
	lua_setfield(L, -2, "error_mt");
}
