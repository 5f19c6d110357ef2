/* fs.c -- files and directories. */
#include "fs.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cf_status io_error(cf_ctx *ctx, const char *what, const char *path, int err)
{
	cf_error_set(ctx, CF_ERR_IO, "could not %s \"%s\": %s", what, path, strerror(err));
	return CF_ERR_IO;
}

cf_status cf_file_read(cf_ctx *ctx, const char *path, char **out, size_t *len)
{
	return cf_file_read_max(ctx, path, SIZE_MAX, out, len);
}

cf_status cf_file_read_max(cf_ctx *ctx, const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_error(ctx, "open file", path, errno);
	struct stat stbuf;
	if (fstat(fd, &stbuf) != 0) {
		int err = errno;
		close(fd);
		return io_error(ctx, "read file", path, err);
	}
	if (S_ISDIR(stbuf.st_mode)) {
		close(fd);
		return io_error(ctx, "read file", path, EISDIR);
	}
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_reserve(&b, (size_t)stbuf.st_size);
	for (;;) {
		cf_buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			cf_buf_release(&b);
			return io_error(ctx, "read file", path, err);
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (b.len > max) {
			/* A pipe or a device can stream forever: stop at the cap. */
			close(fd);
			cf_buf_release(&b);
			cf_error_set(ctx, CF_ERR_IO, "could not read file \"%s\": larger than %zu MB",
			             path, max >> 20);
			return CF_ERR_IO;
		}
	}
	b.data[b.len] = '\0';
	close(fd);
	if (len)
		*len = b.len;
	*out = b.data;
	return CF_OK;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return cf_strdup(".");
	if (slash == path)
		return cf_strdup("/");
	return cf_strndup(path, (size_t)(slash - path));
}

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

cf_status cf_file_write_atomic(cf_ctx *ctx, const char *path, const void *data, size_t n)
{
	char *dir = dir_of(path);
	cf_status st = cf_mkdirs(ctx, dir, 0755);
	char *tmp = cf_asprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = -1;
	if (st)
		goto done;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		st = io_error(ctx, "create file", tmp, errno);
		goto done;
	}
	if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
		st = io_error(ctx, "write file", tmp, errno);
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		st = io_error(ctx, "write file", tmp, errno);
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		st = io_error(ctx, "rename file", tmp, errno);
		goto done;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* durability of the rename; best effort */
		close(dfd);
	}
done:
	if (fd >= 0)
		close(fd);
	if (st)
		unlink(tmp);
	free(tmp);
	free(dir);
	return st;
}

cf_status cf_mkdirs(cf_ctx *ctx, const char *path, int mode)
{
	char *p = cf_strdup(path);
	cf_status st = CF_OK;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
			st = io_error(ctx, "create directory", p, errno);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!st && !cf_is_dir(path))
		st = io_error(ctx, "create directory", path, ENOTDIR);
	free(p);
	return st;
}

cf_status cf_remove_tree(cf_ctx *ctx, const char *path)
{
	struct stat stbuf;
	if (lstat(path, &stbuf) != 0)
		return errno == ENOENT ? CF_OK : io_error(ctx, "remove", path, errno);
	if (S_ISDIR(stbuf.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return io_error(ctx, "open directory", path, errno);
		struct dirent *de;
		cf_status st = CF_OK;
		while (!st && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char *child = cf_path_join(path, de->d_name);
			st = cf_remove_tree(ctx, child);
			free(child);
		}
		closedir(d);
		if (st)
			return st;
		if (rmdir(path) != 0)
			return io_error(ctx, "remove directory", path, errno);
		return CF_OK;
	}
	if (unlink(path) != 0)
		return io_error(ctx, "remove file", path, errno);
	return CF_OK;
}

bool cf_is_dir(const char *path)
{
	struct stat stbuf;
	return stat(path, &stbuf) == 0 && S_ISDIR(stbuf.st_mode);
}

bool cf_is_file(const char *path)
{
	struct stat stbuf;
	return stat(path, &stbuf) == 0 && S_ISREG(stbuf.st_mode);
}

static cf_ftype ftype_of_mode(mode_t m)
{
	return S_ISREG(m)    ? CF_FT_REGULAR
	       : S_ISDIR(m)  ? CF_FT_DIR
	       : S_ISFIFO(m) ? CF_FT_FIFO
	       : S_ISCHR(m)  ? CF_FT_CHAR
	       : S_ISBLK(m)  ? CF_FT_BLOCK
	                     : CF_FT_SOCKET;
}

cf_ftype cf_ftype_at(int dirfd, const char *name, unsigned char d_type, struct stat *sb)
{
	if (!sb && d_type == DT_REG)
		return CF_FT_REGULAR;
	if (!sb && d_type == DT_DIR)
		return CF_FT_DIR;
	struct stat local;
	if (!sb)
		sb = &local;
	if (fstatat(dirfd, name, sb, 0) == 0)
		return ftype_of_mode(sb->st_mode);
	int err = errno;
	struct stat link;
	if ((err == ENOENT || err == ELOOP) &&
	    fstatat(dirfd, name, &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode))
		return CF_FT_BROKEN_LINK;
	errno = err;
	return err == ENOENT || err == ENOTDIR ? CF_FT_MISSING : CF_FT_UNREADABLE;
}

const char *cf_ftype_name(cf_ftype t)
{
	switch (t) {
	case CF_FT_REGULAR: return "a regular file";
	case CF_FT_DIR: return "a directory";
	case CF_FT_MISSING: return "missing";
	case CF_FT_BROKEN_LINK: return "a broken symbolic link";
	case CF_FT_FIFO: return "a FIFO";
	case CF_FT_CHAR: return "a character device";
	case CF_FT_BLOCK: return "a block device";
	case CF_FT_SOCKET: return "a socket";
	case CF_FT_UNREADABLE: break;
	}
	return "unreadable";
}

cf_status cf_not_a_file_error(cf_ctx *ctx, const char *what, const char *shown, cf_ftype t)
{
	if (t == CF_FT_UNREADABLE || t == CF_FT_MISSING) {
		int err = errno ? errno : ENOENT; /* as cf_ftype_at left it */
		return cf_error_set(ctx, CF_ERR_IO, "could not read %s \"%s\": %s", what, shown,
		                    strerror(err));
	}
	cf_error_set(ctx, CF_ERR_IO, "could not read %s \"%s\": it is %s, not a regular file", what,
	             shown, cf_ftype_name(t));
	if (t == CF_FT_BROKEN_LINK)
		cf_error_hint(ctx, "Point the link at an existing file, or remove it.");
	else if (t == CF_FT_DIR)
		cf_error_hint(ctx, "Rename the directory, or move it away.");
	else
		cf_error_hint(ctx, "Replace it with a regular file, or move it away.");
	return CF_ERR_IO;
}

char *cf_path_join(const char *a, const char *b)
{
	if (b[0] == '/' || !a || !*a || strcmp(a, ".") == 0)
		return cf_strdup(b);
	size_t la = strlen(a);
	return cf_asprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

char *cf_path_relative(const char *base, const char *path)
{
	size_t lb = strlen(base);
	if (lb && strncmp(base, path, lb) == 0 && path[lb] == '/')
		return cf_strdup(path + lb + 1);
	return cf_strdup(path);
}

const char *cf_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int cf_path_cmp(const char *a, const char *b)
{
	for (;;) {
		/* End of a component compares lower than any byte in it. */
		unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
		int ea = ca == '/' || ca == '\0', eb = cb == '/' || cb == '\0';
		if (ea && eb) {
			if (ca == '\0' || cb == '\0')
				return (ca != '\0') - (cb != '\0');
			a++;
			b++;
			continue;
		}
		if (ea)
			return -1;
		if (eb)
			return 1;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		a++;
		b++;
	}
}

static int path_qsort_cmp(const void *a, const void *b)
{
	return cf_path_cmp(*(char *const *)a, *(char *const *)b);
}

void cf_strv_sort_paths(cf_strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(char *), path_qsort_cmp);
}

static cf_status list_into(cf_ctx *ctx, const char *root, const char *rel, bool recursive,
                           cf_strv *out, int depth)
{
	char *dir = rel ? cf_path_join(root, rel) : cf_strdup(root);
	DIR *d = opendir(dir);
	if (!d) {
		cf_status st = io_error(ctx, "open directory", dir, errno);
		free(dir);
		return st;
	}
	cf_status st = CF_OK;
	struct dirent *de;
	while (!st && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *child_rel = rel ? cf_path_join(rel, de->d_name) : cf_strdup(de->d_name);
		char *child = cf_path_join(dir, de->d_name);
		struct stat stbuf;
		if (stat(child, &stbuf) != 0) {
			/* A dangling symlink is not a file we can build from. */
		} else if (S_ISREG(stbuf.st_mode)) {
			cf_strv_push_owned(out, child_rel);
			child_rel = NULL;
		} else if (S_ISDIR(stbuf.st_mode) && recursive) {
			if (depth > 64)
				st = io_error(ctx, "walk directory", child, ELOOP);
			else
				st = list_into(ctx, root, child_rel, true, out, depth + 1);
		}
		free(child_rel);
		free(child);
	}
	closedir(d);
	free(dir);
	return st;
}

cf_status cf_dir_list(cf_ctx *ctx, const char *root, bool recursive, cf_strv *out)
{
	size_t first = out->n;
	cf_status st = list_into(ctx, root, NULL, recursive, out, 0);
	if (st || out->n == first)
		return st; /* out->v may be NULL: no pointer arithmetic on it */
	cf_strv tail = {.v = out->v + first, .n = out->n - first};
	cf_strv_sort_paths(&tail);
	return CF_OK;
}

/* Matches component lists: a "**" component matches zero or more components. */
static bool match_components(char **pat, size_t np, char **path, size_t nq)
{
	if (np == 0)
		return nq == 0;
	if (strcmp(pat[0], "**") == 0) {
		for (size_t skip = 0; skip <= nq; skip++)
			if (match_components(pat + 1, np - 1, path + skip, nq - skip))
				return true;
		return false;
	}
	if (nq == 0 || fnmatch(pat[0], path[0], FNM_PERIOD) != 0)
		return false;
	return match_components(pat + 1, np - 1, path + 1, nq - 1);
}

bool cf_glob_match(const char *pattern, const char *path)
{
	cf_strv pat, comp;
	cf_strv_init(&pat);
	cf_strv_init(&comp);
	cf_strv_split(&pat, pattern, '/');
	cf_strv_split(&comp, path, '/');
	bool m = match_components(pat.v, pat.n, comp.v, comp.n);
	cf_strv_release(&pat);
	cf_strv_release(&comp);
	return m;
}
