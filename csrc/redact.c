/*
 * redact.c - cutting secrets out of text bound for an error object.
 *
 * A server may echo what it received: the client secret of a token
 * request, the API key, a token. It may echo it as sent, JSON-escaped
 * ("\u0041" or "\/"), percent-encoded (a query or a form body, "+" for a
 * space or not), JSON-escaped and percent-encoded at once, or as base64
 * (an "id:secret" Basic credential). Each of those readings is a "view"
 * of the text: the view's bytes and, for each byte, the range of the raw
 * text it came from. A secret found in any view marks its raw range; every
 * marked run of the raw text becomes "[REDACTED]".
 *
 * The work is bounded: only the first `limit` bytes of the text are kept
 * (err.body keeps 4 KiB), so only those, plus enough to see a secret that
 * starts before the cut whole, are read. Every search is linear in that
 * window (one memmem pass per secret and view), whatever the text repeats.
 * Scratch memory is a Lua userdata, so a memory error frees it.
 */
#define _GNU_SOURCE		/* memmem */
#include <stdint.h>
#include <string.h>

#include "sendpulse.h"

/* Views: the raw text, JSON-unescaped, percent-decoded ("+" kept or read as
 * a space), and percent-decoded after JSON unescaping. */
enum { V_RAW, V_JSON, V_PCT, V_PCT_PLUS, V_JSON_PCT, V_JSON_PCT_PLUS, NVIEWS };

typedef struct view {
	const unsigned char *b;
	size_t len;
	const uint32_t *from, *to;	/* raw range of byte i; NULL: identity */
} view;

/* The longest a secret can grow in any view's encoding: "\u00XX" for a
 * percent sign followed by two hex digits is 8 bytes for one. */
#define EXPANSION 12
#define MARKER "[REDACTED]"
#define ALIGN4(x) (((x) + 3) & ~(size_t)3)

void sp_secrets_of(sp_client *c, sp_call *k, sp_secrets *out)
{
	const sp_buf *cand[SP_SECRETS_MAX];
	int i, n = 0;

	cand[n++] = c ? &c->client_secret : NULL;
	cand[n++] = c ? &c->api_key : NULL;
	cand[n++] = c ? &c->token : NULL;
	cand[n++] = c ? &c->prev_token : NULL;
	cand[n++] = k ? &k->rejected : NULL;
	out->count = 0;
	out->longest = 0;
	for (i = 0; i < n; i++) {
		if (cand[i] == NULL || cand[i]->len == 0)
			continue;
		out->s[out->count] = cand[i]->data;
		out->n[out->count] = cand[i]->len;
		if (cand[i]->len > out->longest)
			out->longest = cand[i]->len;
		out->count++;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static uint32_t raw_from(const view *v, size_t i)
{
	return v->from ? v->from[i] : (uint32_t)i;
}

static uint32_t raw_to(const view *v, size_t i)
{
	return v->to ? v->to[i] : (uint32_t)(i + 1);
}

/*
 * Decodes src into dst, in bytes/from/to (room for src->len each: no
 * decoding makes text longer). Returns 0 when nothing needed decoding.
 */
static int decode_view(const view *src, int how, unsigned char *bytes,
	uint32_t *from, uint32_t *to, view *dst)
{
	const unsigned char *s = src->b;
	size_t i = 0, o = 0, n = src->len;
	int changed = 0;

	while (i < n) {
		unsigned char out[4];
		int outlen = 0, j;
		size_t used = 0;

		if (how == V_JSON && s[i] == '\\') {
			used = sp_json_unescape((const char *)s + i,
				(const char *)s + n, out, &outlen);
		} else if (how != V_JSON && s[i] == '%' && i + 2 < n &&
				hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[0] = (unsigned char)(hexval(s[i + 1]) << 4 |
				hexval(s[i + 2]));
			outlen = 1;
			used = 3;
		} else if (how == V_PCT_PLUS && s[i] == '+') {
			out[0] = ' ';
			outlen = 1;
			used = 1;
		}
		if (used == 0) {
			out[0] = s[i];
			outlen = 1;
			used = 1;
		} else {
			changed = 1;
		}
		for (j = 0; j < outlen; j++) {
			bytes[o] = out[j];
			from[o] = raw_from(src, i);
			to[o] = raw_to(src, i + used - 1);
			o++;
		}
		i += used;
	}
	dst->b = bytes;
	dst->len = o;
	dst->from = from;
	dst->to = to;
	return changed;
}

static void mark(unsigned char *marks, const view *v, size_t a, size_t e)
{
	size_t r, from = raw_from(v, a), to = raw_to(v, e - 1);
	for (r = from; r < to; r++)
		marks[r] = 1;
}

static void mark_needle(unsigned char *marks, const view *v, const char *s,
	size_t n)
{
	const unsigned char *p = v->b, *end = v->b + v->len, *hit;
	while ((size_t)(end - p) >= n &&
			(hit = memmem(p, (size_t)(end - p), s, n)) != NULL) {
		mark(marks, v, (size_t)(hit - v->b), (size_t)(hit - v->b) + n);
		p = hit + 1;	/* overlapping occurrences too */
	}
}

static int b64char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/' || c == '-' ||
		c == '_' || c == '=';
}

/*
 * A secret inside base64 shows as a run of characters that depends only
 * on its bytes and on where it falls in a 3-byte group. For each of the
 * three alignments, the characters fully determined by the secret are the
 * needle; a hit marks the whole base64 run around it.
 */
static void mark_base64(unsigned char *marks, const view *v, const char *s,
	size_t n, char *tmp)
{
	static const char std[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const size_t skip[3] = { 0, 2, 3 };
	int align, alpha;

	for (alpha = 0; alpha < 2; alpha++) {
		const char *abc = alpha ? url : std;
		for (align = 0; align < 3; align++) {
			size_t total = (size_t)align + n, bits = 0, o = 0, i;
			size_t want = total * 8 / 6;	/* whole characters */
			unsigned acc = 0;
			const unsigned char *p, *end, *hit;

			for (i = 0; i < total && o < want; i++) {
				unsigned char c = i < (size_t)align ? 0
					: (unsigned char)s[i - (size_t)align];
				acc = (acc << 8 | c) & 0xFFFFFF;
				bits += 8;
				while (bits >= 6 && o < want) {
					bits -= 6;
					tmp[o++] = abc[(acc >> bits) & 63];
				}
			}
			if (o <= skip[align] + 4)
				continue;	/* too short to mean anything */
			p = v->b;
			end = v->b + v->len;
			while ((hit = memmem(p, (size_t)(end - p),
					tmp + skip[align], o - skip[align])) != NULL) {
				size_t a = (size_t)(hit - v->b);
				size_t e = a + o - skip[align];
				while (a > 0 && b64char(v->b[a - 1]))
					a--;
				while (e < v->len && b64char(v->b[e]))
					e++;
				mark(marks, v, a, e);
				p = v->b + e;
				if (p >= end)
					break;
			}
		}
	}
}

void sp_push_redacted(lua_State *L, const sp_secrets *sec, const char *text,
	size_t n, size_t limit)
{
	size_t keep = n < limit ? n : limit, w, i, head, per_view;
	unsigned char *scratch, *marks;
	view views[NVIEWS];
	int have[NVIEWS], sidx, v;
	luaL_Buffer b;
	char *tmp;

	if (sec->count == 0 || n == 0) {
		lua_pushlstring(L, text, keep);
		return;
	}
	/* a secret that starts before the cut must be seen whole */
	w = n;
	if (w > keep + EXPANSION * sec->longest + 64)
		w = keep + EXPANSION * sec->longest + 64;
	if (w > UINT32_MAX - 1)
		w = UINT32_MAX - 1;

	/* Scratch: the marks and one base64 needle, then per decoded view its
	 * two maps and its bytes (every part a multiple of 4 bytes long). */
	head = ALIGN4(w + sec->longest * 4 / 3 + 8);
	per_view = 2 * sizeof(uint32_t) * w + ALIGN4(w);
	scratch = lua_newuserdata(L, head + (NVIEWS - 1) * per_view);
	marks = scratch;
	memset(marks, 0, w);
	tmp = (char *)scratch + w;

	views[V_RAW].b = (const unsigned char *)text;
	views[V_RAW].len = w;
	views[V_RAW].from = views[V_RAW].to = NULL;
	have[V_RAW] = 1;
	for (v = V_JSON; v < NVIEWS; v++) {
		uint32_t *from = (uint32_t *)(void *)(scratch + head +
			(size_t)(v - 1) * per_view);
		uint32_t *to = from + w;
		const view *src = &views[V_RAW];
		int how = v;
		if (v == V_JSON_PCT || v == V_JSON_PCT_PLUS) {
			if (!have[V_JSON]) {
				have[v] = 0;
				continue;
			}
			src = &views[V_JSON];
			how = v == V_JSON_PCT ? V_PCT : V_PCT_PLUS;
		}
		have[v] = decode_view(src, how, (unsigned char *)(to + w), from,
			to, &views[v]);
	}

	for (v = 0; v < NVIEWS; v++) {
		if (!have[v])
			continue;
		for (sidx = 0; sidx < sec->count; sidx++) {
			mark_needle(marks, &views[v], sec->s[sidx], sec->n[sidx]);
			mark_base64(marks, &views[v], sec->s[sidx], sec->n[sidx],
				tmp);
		}
	}

	/* Raw bytes past the cut are copied only when the window holds the
	 * whole text: at the window's end a secret may be seen in part. */
	if (w == n)
		keep = n;
	luaL_buffinit(L, &b);
	{
		size_t out = 0;
		for (i = 0; i < keep && out < limit;) {
			if (marks[i]) {
				luaL_addstring(&b, MARKER);
				out += sizeof MARKER - 1;
				while (i < w && marks[i])
					i++;
				continue;
			}
			luaL_addchar(&b, text[i]);
			out++;
			i++;
		}
	}
	luaL_pushresult(&b);
	lua_remove(L, -2);		/* the scratch */
	if (sp_rawlen(L, -1) > limit) {
		lua_pushlstring(L, lua_tostring(L, -1), limit);
		lua_remove(L, -2);
	}
}
