/*
 * file.c - what the file token store needs and Lua's io library cannot
 * do safely: a directory nobody else can write to, token files read
 * without following links and only when they are ours, files replaced
 * atomically (a reader never sees half a token), and a lock shared by
 * every process on the host.
 *
 * Why so strict: whoever can write in the directory, or replace a token
 * file by a link to a file of theirs, decides which token the client
 * sends, and so on which account it acts.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE		/* flock */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sendpulse.h"

#define SP_FILE_LOCK_MT "sendpulse.core.FileLock"
#define TOKEN_FILE_MAX 65536	/* a token file is far smaller */

static int fail(lua_State *L, const char *what, int err)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	return 2;
}

static int refuse(lua_State *L, const char *path, const char *why)
{
	lua_pushnil(L);
	lua_pushfstring(L, "refusing %s: %s", path, why);
	return 2;
}

static const char *check_path_arg(lua_State *L, int idx)
{
	size_t n;
	const char *p = luaL_checklstring(L, idx, &n);
	if (n == 0 || strlen(p) != n || n >= PATH_MAX)
		luaL_error(L, "sendpulse: invalid file path");
	return p;
}

/* An open file is ours alone: a regular file owned by us, not readable or
 * writable by anyone else. NULL when it is, else why not. */
static const char *file_problem(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return "readable or writable by other users (want mode 0600)";
	return NULL;
}

/*
 * core.make_private_dir(path) -> realpath | nil, message
 * Creates the directory (0700) if missing, then requires: it is a
 * directory owned by us that no one else may write to, and every
 * directory above it is owned by us or root and not writable by others
 * unless sticky (as /tmp is: others cannot rename what is ours there).
 * Returns the resolved path, which the store uses from then on.
 */
int sp_make_private_dir(lua_State *L)
{
	const char *path = check_path_arg(L, 1);
	char real[PATH_MAX], *slash;
	struct stat st;
	uid_t me = geteuid();

	if (mkdir(path, S_IRWXU) != 0 && errno != EEXIST)
		return fail(L, "cannot create the token directory", errno);
	if (realpath(path, real) == NULL)
		return fail(L, "cannot use the token directory", errno);
	if (stat(real, &st) != 0)
		return fail(L, "cannot use the token directory", errno);
	if (!S_ISDIR(st.st_mode))
		return refuse(L, real, "not a directory");
	if (st.st_uid != me)
		return refuse(L, real, "the token directory is owned by another "
			"user");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(L, real, "other users may write to the token "
			"directory (chmod 700 it)");
	lua_pushstring(L, real);
	/* the directories above */
	while ((slash = strrchr(real, '/')) != NULL) {
		if (slash == real)
			slash[1] = '\0';	/* "/" itself */
		else
			*slash = '\0';
		if (stat(real, &st) != 0)
			return fail(L, "cannot use the token directory", errno);
		if (st.st_uid != me && st.st_uid != 0)
			return refuse(L, real, "a directory above the token "
				"directory is owned by another user");
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return refuse(L, real, "other users may write to a "
				"directory above the token directory");
		if (slash == real)
			break;
	}
	return 1;
}

/*
 * core.read_private_file(path) -> contents | nil (no such file) |
 *   nil, message (refused or unreadable)
 * Never follows a symbolic link, and reads only a file that is ours.
 */
int sp_read_private_file(lua_State *L)
{
	const char *path = check_path_arg(L, 1);
	struct stat st;
	const char *why;
	size_t total = 0;
	int fd, err;
	/* allocated before the file is opened: nothing that may raise
	 * happens while the descriptor is open */
	char *buf = (char *)lua_newuserdata(L, TOKEN_FILE_MAX + 1);

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return refuse(L, path, "the token file is a symbolic link");
		return fail(L, "cannot read the token file", errno);
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		return fail(L, "cannot read the token file", err);
	}
	if ((why = file_problem(&st)) != NULL) {
		close(fd);
		return refuse(L, path, why);
	}
	while (total <= TOKEN_FILE_MAX) {
		ssize_t r = read(fd, buf + total, TOKEN_FILE_MAX + 1 - total);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			close(fd);
			return fail(L, "cannot read the token file", err);
		}
		if (r == 0)
			break;
		total += (size_t)r;
	}
	close(fd);
	if (total > TOKEN_FILE_MAX)
		return refuse(L, path, "too large for a token file");
	lua_pushlstring(L, buf, total);
	return 1;
}

/* core.write_private_file(path, data) -> true | nil, message
 * Writes a new file (0600, created exclusively, never through a link)
 * beside path and renames it over path: atomic for readers. */
int sp_write_private_file(lua_State *L)
{
	const char *path = check_path_arg(L, 1);
	size_t n, off = 0, plen = strlen(path);
	const char *data = luaL_checklstring(L, 2, &n);
	char tmp[PATH_MAX + 8];
	int fd, err;

	if (plen + 8 >= sizeof tmp)
		return luaL_error(L, "sendpulse: invalid file path");
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	fd = mkstemp(tmp);	/* O_EXCL, mode 0600 */
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
	/* rename replaces a link at path by our file; it never writes
	 * through it */
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

/* ---- the cross-process lock ------------------------------------------- */

typedef struct file_lock {
	int fd;
} file_lock;

static void release_fd(file_lock *l)
{
	if (l->fd >= 0) {
		flock(l->fd, LOCK_UN);
		close(l->fd);
		l->fd = -1;
	}
}

static int lock_release(lua_State *L)
{
	release_fd((file_lock *)luaL_checkudata(L, 1, SP_FILE_LOCK_MT));
	return 0;
}

/*
 * core.lock_file(path, timeout) -> lock | false (not taken within
 *   timeout seconds) | nil, message
 * An exclusive flock on path (created 0600 if missing, never through a
 * link). The kernel drops it when the process dies, so a crashed holder
 * blocks no one. lock:release() (also __gc) lets it go.
 */
int sp_lock_file(lua_State *L)
{
	const char *path = check_path_arg(L, 1);
	double timeout = (double)luaL_optnumber(L, 2, 10), waited = 0, step = 0.001;
	struct stat st;
	const char *why;
	file_lock *l;

	l = (file_lock *)lua_newuserdata(L, sizeof *l);
	l->fd = -1;
	if (luaL_newmetatable(L, SP_FILE_LOCK_MT)) {
		lua_pushcfunction(L, lock_release);
		lua_setfield(L, -2, "__gc");
		lua_createtable(L, 0, 1);
		lua_pushcfunction(L, lock_release);
		lua_setfield(L, -2, "release");
		lua_setfield(L, -2, "__index");
	}
	lua_setmetatable(L, -2);	/* from here __gc closes the fd */

	l->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		S_IRUSR | S_IWUSR);
	if (l->fd < 0) {
		if (errno == ELOOP)
			return refuse(L, path, "the lock file is a symbolic link");
		return fail(L, "cannot open the lock file", errno);
	}
	if (fstat(l->fd, &st) != 0)
		return fail(L, "cannot open the lock file", errno);
	if ((why = file_problem(&st)) != NULL)
		return refuse(L, path, why);
	for (;;) {
		if (flock(l->fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return fail(L, "cannot lock the lock file", errno);
		if (waited >= timeout) {
			release_fd(l);
			lua_pushboolean(L, 0);
			return 1;
		}
		sp_sleep(step);
		waited += step;
		if (step < 0.02)
			step *= 2;
	}
}

const luaL_Reg sp_file_funcs[] = {
	{ "make_private_dir", sp_make_private_dir },
	{ "read_private_file", sp_read_private_file },
	{ "write_private_file", sp_write_private_file },
	{ "lock_file", sp_lock_file },
	{ NULL, NULL }
};
