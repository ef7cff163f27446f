/*
 * file.c - the two file operations the file token store needs and Lua's
 * io library cannot do: create a file readable by its owner only, and
 * replace it atomically (a reader never sees half a token).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sendpulse.h"

static int fail(lua_State *L, const char *what, int err)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	return 2;
}

/* core.write_private_file(path, data) -> true | nil, message */
int sp_write_private_file(lua_State *L)
{
	size_t plen, n, off = 0;
	const char *path = luaL_checklstring(L, 1, &plen);
	const char *data = luaL_checklstring(L, 2, &n);
	char tmp[4096];
	int fd, err;

	if (plen + 8 >= sizeof tmp || strlen(path) != plen)
		return luaL_error(L, "sendpulse: invalid file path");
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	fd = mkstemp(tmp);	/* created with mode 0600 */
	if (fd < 0)
		return fail(L, "cannot create the token file", errno);
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0)
		goto io_error;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto io_error;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto io_error;
	if (close(fd) != 0) {
		err = errno;
		unlink(tmp);
		return fail(L, "cannot write the token file", err);
	}
	if (rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		return fail(L, "cannot replace the token file", err);
	}
	lua_pushboolean(L, 1);
	return 1;
io_error:
	err = errno;
	close(fd);
	unlink(tmp);
	return fail(L, "cannot write the token file", err);
}

/* core.make_private_dir(path) -> true | nil, message (0700, if missing) */
int sp_make_private_dir(lua_State *L)
{
	size_t n;
	const char *path = luaL_checklstring(L, 1, &n);
	struct stat st;

	if (strlen(path) != n)
		return luaL_error(L, "sendpulse: invalid directory path");
	if (mkdir(path, S_IRWXU) != 0 && errno != EEXIST)
		return fail(L, "cannot create the token directory", errno);
	if (stat(path, &st) != 0)
		return fail(L, "cannot use the token directory", errno);
	if (!S_ISDIR(st.st_mode)) {
		lua_pushnil(L);
		lua_pushliteral(L, "the token store path is not a directory");
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}
