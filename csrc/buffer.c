/*
 * buffer.c - the growable byte buffer every other file builds on.
 *
 * Buffers that must survive a Lua error (a memory error, a bad argument)
 * live inside userdata: the client, a call, a transfer, or a scratch
 * buffer (sp_push_scratch). When a Lua error longjmps out of us, the
 * owning userdata's __gc frees them, so no error path can leak.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendpulse.h"

int sp_buf_reserve(sp_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return 0;
	need = b->len + extra + 1;	/* always room for a terminating NUL */
	if (need <= b->cap)
		return 1;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return 0;
	b->data = p;
	b->cap = cap;
	return 1;
}

int sp_buf_add(sp_buf *b, const void *p, size_t n)
{
	if (!sp_buf_reserve(b, n))
		return 0;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 1;
}

int sp_buf_adds(sp_buf *b, const char *s)
{
	return sp_buf_add(b, s, strlen(s));
}

int sp_buf_addc(sp_buf *b, char c)
{
	return sp_buf_add(b, &c, 1);
}

int sp_buf_printf(sp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sp_buf_reserve(b, 64))
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= b->cap - b->len) {
		if (!sp_buf_reserve(b, (size_t)n))
			return 0;
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return 0;
	}
	b->len += (size_t)n;
	return 1;
}

int sp_buf_set(sp_buf *b, const void *p, size_t n)
{
	b->len = 0;
	return sp_buf_add(b, p, n);
}

void sp_buf_clear(sp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Overwrite before freeing: used for buffers that held a secret. */
void sp_buf_wipe(sp_buf *b)
{
	if (b->data) {
		volatile char *v = b->data;
		size_t i;
		for (i = 0; i < b->cap; i++)
			v[i] = 0;
	}
	b->len = 0;
}

void sp_buf_free(sp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void sp_buf_swap(sp_buf *a, sp_buf *b)
{
	sp_buf t = *a;
	*a = *b;
	*b = t;
}

/* A userdata-owned buffer: freed by __gc even if what fills it raises. */
static int scratch_gc(lua_State *L)
{
	sp_buf_free((sp_buf *)lua_touserdata(L, 1));
	return 0;
}

sp_buf *sp_push_scratch(lua_State *L)
{
	sp_buf *b = (sp_buf *)lua_newuserdata(L, sizeof *b);
	memset(b, 0, sizeof *b);
	if (luaL_newmetatable(L, "sendpulse.scratch")) {
		lua_pushcfunction(L, scratch_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return b;
}
