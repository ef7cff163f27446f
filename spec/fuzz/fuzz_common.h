/*
 * fuzz_common.h - shared scaffolding for the libFuzzer targets in
 * spec/fuzz/ (built and run by tools/fuzz).
 *
 * The lua_State has the standard libraries and the module's luaopen run
 * once, so the "sendpulse.array" and "sendpulse.Error" metatables exist;
 * after every input its stack is emptied and a full collection frees what
 * the input created, so LeakSanitizer sees only what the C core leaked.
 *
 * The state uses a counting allocator so a target can rerun its input
 *   - with one allocation refused mid-way (Lua then runs an emergency full
 *     collection and retries: a pointer into an unanchored Lua string shows
 *     up as a heap-use-after-free), and
 *   - with every allocation from some point on refused (the memory-error
 *     paths, which must neither leak nor corrupt the stack).
 * The failure point is derived from the input, so reruns are deterministic.
 *
 * Anything that can raise runs under lua_pcall through fz_pcall(): a Lua
 * error is an outcome to check, not a crash. A crash, a sanitizer report, a
 * leak or a failed FZ_CHECK is a finding.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem, timegm */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "sendpulse.h"

LUALIB_API int luaopen_sendpulse_core(lua_State *L);

/* ---- invariant checks -------------------------------------------------- */

static inline void fz_dump(const char *what, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;
	fprintf(stderr, "  %s (%lu bytes): \"", what, (unsigned long)n);
	for (i = 0; i < n && i < 600; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			fputc(s[i], stderr);
		else
			fprintf(stderr, "\\x%02x", s[i]);
	}
	fprintf(stderr, "%s\"\n", n > 600 ? "..." : "");
}

/*
 * A check that has an id can be switched off with FUZZ_ALLOW=id1,id2 (for
 * a known, reported finding, while the rest of the target keeps running).
 */
static inline int fz_allowed(const char *id)
{
	const char *a = getenv("FUZZ_ALLOW"), *p;
	size_t n = strlen(id);
	if (a == NULL || id == NULL)
		return 0;
	for (p = a; (p = strstr(p, id)) != NULL; p += n)
		if ((p == a || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

#define FZ_FAIL(...) do { \
	fprintf(stderr, "\n==FUZZ== invariant violated at %s:%d: ", \
		__FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	abort(); \
} while (0)

#define FZ_CHECK(cond, ...) do { \
	if (!(cond)) \
		FZ_FAIL(__VA_ARGS__); \
} while (0)

#define FZ_CHECK_ID(id, cond, ...) do { \
	if (!(cond) && !fz_allowed(id)) { \
		fprintf(stderr, "\n==FUZZ== [%s] (FUZZ_ALLOW=%s to skip)", id, \
			id); \
		FZ_FAIL(__VA_ARGS__); \
	} \
} while (0)

/* ---- the allocator ----------------------------------------------------- */

enum {
	FZ_ALLOC_PLAIN,		/* no counting */
	FZ_ALLOC_COUNT,		/* count growing allocations */
	FZ_ALLOC_GC_AT,		/* refuse the at-th one once (emergency GC) */
	FZ_ALLOC_FAIL_FROM	/* refuse the at-th one and every later one */
};

/* Cap on Lua's heap per input: a quadratic blow-up is a finding (the
 * run reports a memory error instead of exhausting the machine). */
#define FZ_LUA_HEAP_MAX ((size_t)256 << 20)

static struct {
	int mode;
	unsigned long count, at;
	size_t used;
} fz_mem;

static void *fz_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	size_t old = ptr ? osize : 0;
	void *p;
	(void)ud;
	if (nsize == 0) {
		free(ptr);
		fz_mem.used -= old;
		return NULL;
	}
	if (nsize > old) {	/* Lua assumes shrinking never fails */
		if (fz_mem.used - old + nsize > FZ_LUA_HEAP_MAX)
			return NULL;
		if (fz_mem.mode != FZ_ALLOC_PLAIN) {
			unsigned long n = ++fz_mem.count;
			if (fz_mem.mode == FZ_ALLOC_GC_AT && n == fz_mem.at)
				return NULL;
			if (fz_mem.mode == FZ_ALLOC_FAIL_FROM && n >= fz_mem.at)
				return NULL;
		}
	}
	p = realloc(ptr, nsize);
	if (p)
		fz_mem.used = fz_mem.used - old + nsize;
	return p;
}

static int fz_open_core(lua_State *L)
{
	luaL_openlibs(L);
	luaL_requiref(L, "sendpulse.core", luaopen_sendpulse_core, 0);
	return 1;
}

/* A fresh state with the module opened; the module table is at index 1. */
static lua_State *fz_open(void)
{
	lua_State *L;
	fz_mem.mode = FZ_ALLOC_PLAIN;
	fz_mem.used = 0;
	L = lua_newstate(fz_lua_alloc, NULL);
	if (L == NULL)
		abort();
	lua_pushcfunction(L, fz_open_core);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		fprintf(stderr, "fuzz: opening sendpulse.core failed: %s\n",
			lua_tostring(L, -1));
		abort();
	}
	return L;
}

static void fz_close(lua_State *L)
{
	fz_mem.mode = FZ_ALLOC_PLAIN;
	lua_close(L);
}

/* ---- protected calls --------------------------------------------------- */

typedef int (*fz_body)(lua_State *L, void *ud);

struct fz_tramp {
	fz_body fn;
	void *ud;
	int mode;
	unsigned long at;
	int result;
};

static char fz_errmsg[512];

static int fz_trampoline(lua_State *L)
{
	struct fz_tramp *t = (struct fz_tramp *)lua_touserdata(L, 1);
	lua_settop(L, 0);
	/* While allocations are being refused, no collection step (and so no
	 * __gc) may run: Lua does not retry a finalizer that failed for lack
	 * of memory, and the userdata's buffers would then leak through no
	 * fault of the core. The emergency collection on a refused allocation
	 * still runs (without finalizers), which is the point. */
	if (t->mode == FZ_ALLOC_GC_AT || t->mode == FZ_ALLOC_FAIL_FROM)
		lua_gc(L, LUA_GCSTOP);
	fz_mem.count = 0;
	fz_mem.at = t->at;
	fz_mem.mode = t->mode;
	t->result = t->fn(L, t->ud);
	fz_mem.mode = FZ_ALLOC_PLAIN;
	return 0;
}

/*
 * Runs fn(L, ud) under lua_pcall with the allocator in the given mode.
 * Returns the pcall status (LUA_OK, LUA_ERRRUN, LUA_ERRMEM...); the error
 * message, if any, is left in fz_errmsg. *count receives the number of
 * growing allocations fn made (FZ_ALLOC_COUNT mode).
 */
static int fz_pcall(lua_State *L, fz_body fn, void *ud, int mode,
	unsigned long at, unsigned long *count)
{
	struct fz_tramp t;
	int top = lua_gettop(L), st;

	t.fn = fn;
	t.ud = ud;
	t.mode = mode;
	t.at = at;
	t.result = 0;
	fz_errmsg[0] = '\0';
	if (!lua_checkstack(L, 4))
		abort();
	lua_pushcfunction(L, fz_trampoline);
	lua_pushlightuserdata(L, &t);
	st = lua_pcall(L, 1, 0, 0);
	fz_mem.mode = FZ_ALLOC_PLAIN;
	lua_gc(L, LUA_GCRESTART);
	if (count)
		*count = fz_mem.count;
	if (st != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		snprintf(fz_errmsg, sizeof fz_errmsg, "%s", m ? m : "(no message)");
	}
	lua_settop(L, top);
	return st;
}

/* The three runs most targets do for one input: plain (counting the
 * allocations), an emergency GC at one of them, and memory exhaustion
 * from one of them on. run(L, data, size, mode, at) does its own checks,
 * relaxed when mode is not FZ_ALLOC_COUNT. */
typedef void (*fz_run_fn)(lua_State *L, const uint8_t *data, size_t size,
	int mode, unsigned long at, unsigned long *count);

static inline uint64_t fz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;
	for (i = 0; i < size; i++) {
		h ^= data[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * One lua_State per process (standard libraries and the module opened once,
 * as a host application would), emptied and fully collected after every
 * input so inputs do not see each other's values. FUZZ_FRESH_STATE=1 gives
 * every input a state of its own instead (about 4x slower; for a crash
 * that seems to depend on the inputs run before it).
 */
static lua_State *fz_shared_L;

static lua_State *fz_state(void)
{
	if (getenv("FUZZ_FRESH_STATE"))
		return fz_open();
	if (fz_shared_L == NULL) {
		fz_shared_L = fz_open();
		lua_settop(fz_shared_L, 0);
	}
	return fz_shared_L;
}

static void fz_state_done(lua_State *L)
{
	if (L != fz_shared_L) {
		fz_close(L);
		return;
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCCOLLECT, 0);
}

static void fz_run_all(const uint8_t *data, size_t size, fz_run_fn run)
{
	lua_State *L = fz_state();
	unsigned long n = 0, dummy;
	uint64_t h = fz_hash(data, size);

	run(L, data, size, FZ_ALLOC_COUNT, 0, &n);
	if (n > 0 && !getenv("FUZZ_NO_OOM")) {
		run(L, data, size, FZ_ALLOC_GC_AT, 1 + h % n, &dummy);
		run(L, data, size, FZ_ALLOC_FAIL_FROM, 1 + (h >> 32) % n,
			&dummy);
	}
	fz_state_done(L);
}

/* Expected pcall outcomes under each allocator mode. */
static inline void fz_expect_status(int st, int mode, const char *what)
{
	if (st == LUA_OK)
		return;
	if (st == LUA_ERRMEM && mode != FZ_ALLOC_COUNT)
		return;
	FZ_FAIL("%s: unexpected Lua error (status %d, allocator mode %d): %s",
		what, st, mode, fz_errmsg);
}

/* ---- small helpers ----------------------------------------------------- */

static inline void fz_buf_release(sp_buf *b)
{
	sp_buf_wipe(b);
	sp_buf_free(b);
}

static inline int fz_contains(const char *hay, size_t hn, const char *needle,
	size_t nn)
{
	if (nn == 0)
		return 1;
	return hay != NULL && memmem(hay, hn, needle, nn) != NULL;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF),
 * written independently of json.c's utf8_seq. */
static inline int fz_valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], cp, need, k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			need = 1; cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2; cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3; cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
				(need == 3 && cp < 0x10000))
			return 0;	/* overlong */
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Deep comparison of two tables the decoder made (so neither has holes):
 * both carry the array metatable or neither, the same length, the same
 * keys, and `same` accepts each pair of values (a's value first, since a
 * target's comparison may be asymmetric).
 */
static inline int fz_same_table(lua_State *L, int a, int b,
	int (*same)(lua_State *L, int a, int b))
{
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	luaL_checkstack(L, 6, "compare");
	{
		int ma = lua_getmetatable(L, a), mb;
		if (ma)
			lua_pop(L, 1);
		mb = lua_getmetatable(L, b);
		if (mb)
			lua_pop(L, 1);
		/* an empty table without the array metatable is an object */
		if (ma != mb || lua_rawlen(L, a) != lua_rawlen(L, b))
			return 0;
	}
	lua_pushnil(L);
	while (lua_next(L, a)) {
		lua_pushvalue(L, -2);
		lua_rawget(L, b);
		if (!same(L, -2, -1)) {
			lua_pop(L, 3);
			return 0;
		}
		lua_pop(L, 2);
	}
	lua_pushnil(L);
	while (lua_next(L, b)) {
		lua_pushvalue(L, -2);
		lua_rawget(L, a);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 3);
			return 0;
		}
		lua_pop(L, 2);
	}
	return 1;
}

/* Splits data at the first occurrence of sep: (a, an) before, the rest after. */
static inline int fz_cut(const uint8_t **data, size_t *size, uint8_t sep,
	const char **a, size_t *an)
{
	const uint8_t *p = memchr(*data, sep, *size);
	*a = (const char *)*data;
	if (p == NULL) {
		*an = *size;
		*data += *size;
		*size = 0;
		return 0;
	}
	*an = (size_t)(p - *data);
	*size -= *an + 1;
	*data = p + 1;
	return 1;
}

#endif
