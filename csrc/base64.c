/*
 * base64.c - standard base64 (RFC 4648, with padding, no line breaks):
 * SendPulse wants HTML bodies, attachments and comma-joined lists in it.
 */
#include <string.h>

#include "sendpulse.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* core.base64_encode(s) -> string */
int sp_base64_encode(lua_State *L)
{
	size_t n, i;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char out[4];

	luaL_buffinit(L, &b);
	for (i = 0; i + 2 < n; i += 3) {
		out[0] = alphabet[s[i] >> 2];
		out[1] = alphabet[(s[i] & 3) << 4 | s[i + 1] >> 4];
		out[2] = alphabet[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		out[3] = alphabet[s[i + 2] & 63];
		luaL_addlstring(&b, out, 4);
	}
	if (i < n) {
		out[0] = alphabet[s[i] >> 2];
		if (i + 1 < n) {
			out[1] = alphabet[(s[i] & 3) << 4 | s[i + 1] >> 4];
			out[2] = alphabet[(s[i + 1] & 15) << 2];
		} else {
			out[1] = alphabet[(s[i] & 3) << 4];
			out[2] = '=';
		}
		out[3] = '=';
		luaL_addlstring(&b, out, 4);
	}
	luaL_pushresult(&b);
	return 1;
}

/* core.base64_decode(s) -> string | nil, message (whitespace ignored) */
int sp_base64_decode(lua_State *L)
{
	size_t n, i;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	unsigned acc = 0;
	int bits = 0, pad = 0;

	luaL_buffinit(L, &b);
	for (i = 0; i < n; i++) {
		const char *p;
		char c = s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		p = c ? strchr(alphabet, c) : NULL;
		if (p == NULL || pad)
			goto bad;
		acc = acc << 6 | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			luaL_addchar(&b, (char)(acc >> bits & 0xFF));
		}
	}
	if (pad > 2 || bits >= 6)
		goto bad;
	luaL_pushresult(&b);
	return 1;
bad:
	luaL_pushresult(&b);
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_pushliteral(L, "invalid base64");
	return 2;
}

const luaL_Reg sp_base64_funcs[] = {
	{ "base64_encode", sp_base64_encode },
	{ "base64_decode", sp_base64_decode },
	{ NULL, NULL }
};
