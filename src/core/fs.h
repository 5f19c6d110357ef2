/* fs.h -- files and directories: reads, atomic writes, sorted walks, paths. */
#ifndef CF_FS_H
#define CF_FS_H

#include "confiture.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Reads a whole file into *OUT (NUL-terminated, caller frees). CF_ERR_IO. */
cf_status cf_file_read(cf_ctx *ctx, const char *path, char **out, size_t *len);
/* Same, refusing (CF_ERR_IO, nothing kept) a file longer than MAX bytes. */
cf_status cf_file_read_max(cf_ctx *ctx, const char *path, size_t max, char **out, size_t *len);

/*
 * Writes DATA to PATH atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory. Creates missing parent directories.
 * On failure PATH is untouched. CF_ERR_IO.
 */
cf_status cf_file_write_atomic(cf_ctx *ctx, const char *path, const void *data, size_t n);

/* mkdir -p with MODE; existing directories are fine. CF_ERR_IO. */
cf_status cf_mkdirs(cf_ctx *ctx, const char *path, int mode);
/* rm -rf. Missing is fine. CF_ERR_IO. */
cf_status cf_remove_tree(cf_ctx *ctx, const char *path);

bool cf_is_dir(const char *path);
bool cf_is_file(const char *path);

/* What a path is, symlinks followed. */
typedef enum cf_ftype {
	CF_FT_REGULAR,
	CF_FT_DIR,
	CF_FT_MISSING,      /* nothing there */
	CF_FT_BROKEN_LINK,  /* a symlink to nothing, or a symlink loop */
	CF_FT_FIFO,
	CF_FT_CHAR,         /* /dev/zero, /dev/null, a tty */
	CF_FT_BLOCK,
	CF_FT_SOCKET,
	CF_FT_UNREADABLE    /* stat failed otherwise, e.g. EACCES; errno kept */
} cf_ftype;

/*
 * Classifies NAME in the directory DIRFD (AT_FDCWD for a path). D_TYPE is
 * readdir's d_type, or DT_UNKNOWN: when it already says a regular file or a
 * directory and SB is NULL, no system call is made. Otherwise the entry is
 * stat'ed (into SB when given).
 */
cf_ftype cf_ftype_at(int dirfd, const char *name, unsigned char d_type, struct stat *sb);
/* "a directory", "a FIFO", "a broken symbolic link", ... for messages. */
const char *cf_ftype_name(cf_ftype t);

/*
 * Records that WHAT "SHOWN" (e.g. "migration file", "db/migrations/x.up.sql")
 * cannot be read because it is of type T, not a regular file: CF_ERR_IO,
 * "could not read migration file "SHOWN": it is a FIFO", with a hint.
 */
cf_status cf_not_a_file_error(cf_ctx *ctx, const char *what, const char *shown, cf_ftype t);

/* A joined with B ("a/b"); B absolute returns a copy of B. Caller frees. */
char *cf_path_join(const char *a, const char *b);
/* PATH relative to BASE when inside it, else a copy of PATH. */
char *cf_path_relative(const char *base, const char *path);
/* The last component of PATH (pointer into PATH). */
const char *cf_path_base(const char *path);

/*
 * Compares relative paths component by component, so "a/b.sql" sorts before
 * "a-b.sql". Within a component, bytes compare as unsigned.
 */
int cf_path_cmp(const char *a, const char *b);
/* Sorts SV with cf_path_cmp. */
void cf_strv_sort_paths(cf_strv *sv);

/*
 * Lists regular files under ROOT (following symlinks), as paths relative to
 * ROOT, sorted with cf_path_cmp. Only the top level unless RECURSIVE.
 * Hidden entries (".name") are skipped. CF_ERR_IO when ROOT is unreadable.
 */
cf_status cf_dir_list(cf_ctx *ctx, const char *root, bool recursive, cf_strv *out);

/*
 * Glob match with "*" (within a component), "?", "[...]" and "**" (any number
 * of components). PATH and PATTERN use "/".
 */
bool cf_glob_match(const char *pattern, const char *path);

#endif
