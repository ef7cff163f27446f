/*
 * fuzz_base64: sp_base64_decode and sp_base64_encode (base64.c), called as
 * the Lua C functions they are (core.base64_decode / base64_encode).
 *
 * Checks:
 *   - encode(x) is 4*ceil(n/3) bytes of the standard alphabet with
 *     padding only at the end, and decode(encode(x)) == x;
 *   - decode(x) either returns a string, or nil and "invalid base64";
 *     it accepts exactly what the documented grammar allows (whitespace
 *     anywhere, '=' only after the last data character, at most two,
 *     no dangling 6-bit group), checked by an independent reimplementation;
 *     when it accepts, the output is what the reference decodes, and
 *     decode(encode(decode(x))) == decode(x).
 */
#include "fuzz_common.h"

static const char alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

typedef struct {
	const uint8_t *d;
	size_t n;
	char *ref;		/* reference decoding, malloc'd */
} ctx;

static int val(unsigned char c)
{
	const char *p = c ? strchr(alpha, c) : NULL;
	return p ? (int)(p - alpha) : -1;
}

/* Reference decoder; returns the length or -1. */
static long ref_decode(const uint8_t *s, size_t n, char *out)
{
	size_t i, o = 0, groups = 0;
	unsigned bits = 0, acc = 0;
	int pad = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		int v;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = val(c);
		if (v < 0 || pad)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
		bits += 6;
		groups++;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xFF);
		}
	}
	if (pad > 2 || groups % 4 == 1)
		return -1;
	return (long)o;
}

static int call_fn(lua_State *L, lua_CFunction f, const char *s, size_t n)
{
	lua_pushcfunction(L, f);
	lua_pushlstring(L, s, n);
	lua_call(L, 1, LUA_MULTRET);
	return 0;
}

static int body(lua_State *L, void *ud)
{
	ctx *x = ud;
	int top = lua_gettop(L);
	const char *enc, *dec, *dec2;
	size_t en, dn, dn2, i;
	long rn;

	/* encode, then decode back */
	call_fn(L, sp_base64_encode, (const char *)x->d, x->n);
	FZ_CHECK(lua_gettop(L) == top + 1 && lua_type(L, -1) == LUA_TSTRING,
		"base64_encode did not return one string");
	enc = lua_tolstring(L, -1, &en);
	FZ_CHECK(en == (x->n + 2) / 3 * 4, "encoded length %lu for %lu bytes",
		(unsigned long)en, (unsigned long)x->n);
	for (i = 0; i < en; i++) {
		if (enc[i] == '=')
			FZ_CHECK(i >= en - 2 && (i == en - 1 || enc[en - 1] == '='),
				"padding inside the text");
		else
			FZ_CHECK(val((unsigned char)enc[i]) >= 0, "byte 0x%02x",
				(unsigned char)enc[i]);
	}
	call_fn(L, sp_base64_decode, enc, en);
	FZ_CHECK(lua_gettop(L) == top + 2 && lua_type(L, -1) == LUA_TSTRING,
		"decoding an encoding failed");
	dec = lua_tolstring(L, -1, &dn);
	FZ_CHECK(dn == x->n && memcmp(dec, x->d, dn) == 0,
		"decode(encode(x)) ~= x");
	lua_settop(L, top);

	/* decode the input itself */
	call_fn(L, sp_base64_decode, (const char *)x->d, x->n);
	rn = ref_decode(x->d, x->n, x->ref);
	if (lua_isnil(L, top + 1)) {
		FZ_CHECK(lua_gettop(L) == top + 2 && lua_type(L, -1) ==
			LUA_TSTRING && strcmp(lua_tostring(L, -1),
			"invalid base64") == 0, "refusal without the message");
		FZ_CHECK(rn < 0, "refused what the grammar allows");
		lua_settop(L, top);
		return 0;
	}
	FZ_CHECK(lua_gettop(L) == top + 1 && lua_type(L, -1) == LUA_TSTRING,
		"base64_decode returned %d values", lua_gettop(L) - top);
	FZ_CHECK(rn >= 0, "accepted what the grammar refuses");
	dec = lua_tolstring(L, -1, &dn);
	FZ_CHECK(dn == (size_t)rn && memcmp(dec, x->ref, dn) == 0,
		"decoded bytes differ from the reference");
	call_fn(L, sp_base64_encode, dec, dn);
	enc = lua_tolstring(L, -1, &en);
	call_fn(L, sp_base64_decode, enc, en);
	dec2 = lua_tolstring(L, -1, &dn2);
	FZ_CHECK(dec2 && dn2 == dn && memcmp(dec2, dec, dn) == 0,
		"decode(encode(decode(x))) ~= decode(x)");
	lua_settop(L, top);
	return 0;
}

static void run(lua_State *L, const uint8_t *d, size_t n, int mode,
	unsigned long at, unsigned long *count)
{
	ctx x;
	int st;
	x.d = d;
	x.n = n;
	x.ref = malloc(n + 1);
	st = fz_pcall(L, body, &x, mode, at, count);
	fz_expect_status(st, mode, "base64");
	free(x.ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_all(data, size, run);
	return 0;
}
