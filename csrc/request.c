/*
 * request.c - the request of one attempt, worked out in one place.
 *
 * call.c decides that a request goes out (the token fetch or the API
 * call); sp_request_fill then says what it is: method, target, whether it
 * carries the Authorization header, its body (JSON, or multipart parts),
 * whether it may reach the server twice, and this attempt's timeouts.
 * http.c (libcurl) and wire.c (raw HTTP/1.1 for Lua transports) both only
 * read that descriptor.
 *
 * Multipart bodies (the two file uploads of the API) are read from a Lua
 * table once, when the call is created: text fields and file parts, a file
 * given by its path (libcurl streams it; the wire encoder reads it) or by
 * its bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sendpulse.h"

void sp_request_fill(sp_call *k, double left)
{
	sp_client *c = k->client;
	sp_request *r = &k->req;

	memset(r, 0, sizeof *r);
	if (k->req_is_token) {
		r->method = SP_POST;
		r->target = c->token_target.data;
		r->target_len = c->token_target.len;
		r->body_kind = SP_BODY_JSON;
		r->body = c->token_body.data;
		r->body_len = c->token_body.len;
		r->auth = 0;
		r->send_once = 0;	/* fetching a token changes nothing */
	} else {
		r->method = k->method;
		r->target = k->target.data;
		r->target_len = k->target.len;
		r->auth = 1;
		if (k->mime.nparts) {
			r->body_kind = SP_BODY_MULTIPART;
			r->mime = &k->mime;
		} else if (k->has_body) {
			r->body_kind = SP_BODY_JSON;
			r->body = k->body.data;
			r->body_len = k->body.len;
		}
		r->send_once = k->method == SP_POST || k->method == SP_PATCH;
		r->accept_any = k->raw;
	}
	r->timeout = c->timeout < left ? c->timeout : left;
	r->connect_timeout = c->connect_timeout < r->timeout
		? c->connect_timeout : r->timeout;
}

/* ---- multipart bodies -------------------------------------------------- */

void sp_mime_free(sp_mime *m)
{
	int i;
	for (i = 0; i < m->nparts; i++) {
		sp_part *p = &m->parts[i];
		sp_buf_free(&p->name);
		sp_buf_free(&p->filename);
		sp_buf_free(&p->content_type);
		sp_buf_free(&p->data);
		sp_buf_free(&p->path);
	}
	free(m->parts);
	m->parts = NULL;
	m->nparts = 0;
}

/* A header parameter (name, filename) or a content type: no CR, LF or
 * NUL, which would end the part's head line (header injection). A quote
 * is fine: part_head writes it as %22 in the quoted name and filename, as
 * libcurl does (WHATWG form encoding). */
static int header_safe(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return 0;
	return 1;
}

static const char *field_string(lua_State *L, int t, const char *name,
	size_t *n)
{
	const char *s = NULL;
	lua_getfield(L, t, name);
	if (lua_type(L, -1) == LUA_TSTRING)
		s = lua_tolstring(L, -1, n);
	lua_pop(L, 1);	/* (the string stays anchored in the table) */
	return s;
}

/* A number as a form field: integers without a decimal point. */
static const char *number_text(lua_State *L, int idx, char *buf, size_t n)
{
	double v;
	if (sp_isinteger(L, idx)) {
#if SP_HAVE_INTEGERS
		snprintf(buf, n, "%lld", (long long)lua_tointeger(L, idx));
		return buf;
#endif
	}
	v = (double)lua_tonumber(L, idx);
	if (v == floor(v) && v > -9.2e18 && v < 9.2e18)
		snprintf(buf, n, "%.0f", v);
	else
		sp_format_double(buf, n, v);
	return buf;
}

/* One part from the value at the top of the stack (a string, a number or
 * a file table), named name. */
static void read_part(lua_State *L, sp_mime *m, const char *name, size_t nlen,
	const char *label)
{
	sp_part *p = &m->parts[m->nparts];
	size_t n;
	const char *s;
	char num[64];
	int t = lua_gettop(L);

	m->nparts++;
	if (!sp_buf_set(&p->name, name, nlen))
		luaL_error(L, "out of memory");
	if (lua_type(L, t) == LUA_TSTRING || lua_type(L, t) == LUA_TNUMBER) {
		if (lua_type(L, t) == LUA_TNUMBER) {
			s = number_text(L, t, num, sizeof num);
			n = strlen(s);
		} else {
			s = lua_tolstring(L, t, &n);
		}
		if (!sp_buf_set(&p->data, s, n))
			luaL_error(L, "out of memory");
		p->size = (long long)n;
		return;
	}
	if (!lua_istable(L, t))
		luaL_error(L, "sendpulse: bad argument 'body.%s' (a string, a "
			"number or a file expected, got %s)", label,
			luaL_typename(L, t));
	{
		const char *path = field_string(L, t, "path", &n);
		if (path) {
			struct stat st;
			if (strlen(path) != n || !sp_buf_set(&p->path, path, n))
				luaL_error(L, "sendpulse: bad argument 'body.%s' (a "
					"file path)", label);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				luaL_error(L, "sendpulse: bad argument 'body.%s' "
					"(cannot read the file %s)", label, path);
			p->size = (long long)st.st_size;
		} else if ((s = field_string(L, t, "data", &n)) != NULL) {
			if (!sp_buf_set(&p->data, s, n))
				luaL_error(L, "out of memory");
			p->size = (long long)n;
		} else {
			luaL_error(L, "sendpulse: bad argument 'body.%s' (a file "
				"needs a path or data)", label);
		}
		s = field_string(L, t, "filename", &n);
		if (s == NULL && path) {
			const char *slash = strrchr(path, '/');
			s = slash ? slash + 1 : path;
			n = strlen(s);
		}
		if (s == NULL || n == 0) {
			s = "file";
			n = 4;
		}
		if (!header_safe(s, n))
			luaL_error(L, "sendpulse: bad argument 'body.%s' (a file "
				"name without CR, LF or NUL expected)", label);
		if (!sp_buf_set(&p->filename, s, n))
			luaL_error(L, "out of memory");
		s = field_string(L, t, "content_type", &n);
		if (s == NULL) {
			s = "application/octet-stream";
			n = strlen(s);
		}
		if (!header_safe(s, n))
			luaL_error(L, "sendpulse: bad argument 'body.%s' (a content "
				"type without CR, LF or NUL expected)", label);
		if (!sp_buf_set(&p->content_type, s, n))
			luaL_error(L, "out of memory");
	}
}

/* A plain list (not a file table): its items are parts of one name. */
static int is_list(lua_State *L, int idx)
{
	lua_getfield(L, idx, "path");
	lua_getfield(L, idx, "data");
	if (!lua_isnil(L, -1) || !lua_isnil(L, -2)) {
		lua_pop(L, 2);
		return 0;
	}
	lua_pop(L, 2);
	return 1;
}

/*
 * Reads the body table at idx into m: each key a field name; a value is a
 * string or number (a text field), a file table { path = ..., data = ...,
 * filename = ..., content_type = ... } (sendpulse.file), or a list of
 * those (one part per item, all with the field's name, as "files[]"
 * wants). Returns 1, or raises naming the field. m must be owned by a
 * userdata (its __gc frees what was read if this raises).
 */
int sp_mime_read(lua_State *L, int idx, sp_mime *m, size_t max_size)
{
	long long total = 0;
	int count = 0, i;

	idx = sp_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_istable(L, -1) && is_list(L, lua_gettop(L)))
			count += (int)sp_rawlen(L, -1);
		else
			count++;
		lua_pop(L, 1);
	}
	if (count == 0)
		return luaL_error(L, "sendpulse: bad argument 'body' (a multipart "
			"body needs at least one field)");
	m->parts = calloc((size_t)count, sizeof *m->parts);
	if (m->parts == NULL)
		return luaL_error(L, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t n;
		const char *name;

		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "sendpulse: bad argument 'body' "
				"(multipart field names must be strings)");
		name = lua_tolstring(L, -2, &n);
		if (n == 0 || !header_safe(name, n))
			return luaL_error(L, "sendpulse: bad argument 'body' (a "
				"multipart field name: not empty, without CR, LF or "
				"NUL)");
		if (lua_istable(L, -1) && is_list(L, lua_gettop(L))) {
			int len = (int)sp_rawlen(L, -1);
			for (i = 1; i <= len && m->nparts < count; i++) {
				lua_rawgeti(L, -1, i);
				read_part(L, m, name, n, name);
				lua_pop(L, 1);
			}
		} else if (m->nparts < count) {
			read_part(L, m, name, n, name);
		}
		lua_pop(L, 1);
	}
	for (i = 0; i < m->nparts; i++)
		total += m->parts[i].size;
	if ((size_t)total > max_size) {
		char msg[128];
		snprintf(msg, sizeof msg, "sendpulse: bad argument 'body' (%lld "
			"bytes to upload, more than max_upload_size)", total);
		return luaL_error(L, "%s", msg);
	}
	return 1;
}

/* A quoted parameter's value: '"' as %22 (read_part let no CR, LF or
 * NUL through). */
static int add_quoted(sp_buf *out, const sp_buf *v)
{
	size_t i, from = 0;
	int ok = sp_buf_addc(out, '"');
	for (i = 0; i < v->len && ok; i++) {
		if (v->data[i] == '"') {
			ok = sp_buf_add(out, v->data + from, i - from)
				&& sp_buf_adds(out, "%22");
			from = i + 1;
		}
	}
	return ok && sp_buf_add(out, v->data + from, v->len - from)
		&& sp_buf_addc(out, '"');
}

static void part_head(const sp_mime *m, const sp_part *p, sp_buf *out,
	int *ok)
{
	*ok &= sp_buf_printf(out, "--%s\r\nContent-Disposition: form-data; "
		"name=", m->boundary);
	*ok &= add_quoted(out, &p->name);
	if (p->filename.len) {
		*ok &= sp_buf_adds(out, "; filename=");
		*ok &= add_quoted(out, &p->filename);
		*ok &= sp_buf_printf(out, "\r\nContent-Type: %s",
			p->content_type.data);
	}
	*ok &= sp_buf_adds(out, "\r\n\r\n");
}

/* The length of the encoded body (for Content-Length). */
long long sp_mime_length(const sp_mime *m)
{
	sp_buf head = { NULL, 0, 0 };
	long long total = 0;
	int i, ok = 1;
	for (i = 0; i < m->nparts; i++) {
		sp_buf_clear(&head);
		part_head(m, &m->parts[i], &head, &ok);
		total += (long long)head.len + m->parts[i].size + 2;
	}
	sp_buf_free(&head);
	if (!ok)
		return -1;
	return total + (long long)strlen(m->boundary) + 6;
}

/* Encodes the body into out (files read now). 0 with err set on failure. */
int sp_mime_encode(const sp_mime *m, sp_buf *out, char *err, size_t errlen)
{
	int i, ok = 1;
	for (i = 0; i < m->nparts && ok; i++) {
		const sp_part *p = &m->parts[i];
		part_head(m, p, out, &ok);
		if (p->path.len) {
			FILE *f = fopen(p->path.data, "rb");
			long long got = 0;
			if (f == NULL) {
				snprintf(err, errlen, "cannot read the file %s",
					p->path.data);
				return 0;
			}
			while (ok) {
				size_t r;
				if (!sp_buf_reserve(out, 65536)) {
					ok = 0;
					break;
				}
				r = fread(out->data + out->len, 1, 65536, f);
				out->len += r;
				got += (long long)r;
				if (r < 65536)
					break;
			}
			fclose(f);
			if (ok && got != p->size) {
				snprintf(err, errlen, "the file %s changed size "
					"while being sent", p->path.data);
				return 0;
			}
		} else {
			ok &= sp_buf_add(out, p->data.data, p->data.len);
		}
		ok &= sp_buf_adds(out, "\r\n");
	}
	ok &= sp_buf_printf(out, "--%s--\r\n", m->boundary);
	if (!ok)
		snprintf(err, errlen, "out of memory");
	return ok;
}
