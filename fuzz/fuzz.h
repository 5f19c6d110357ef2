/*
 * fuzz.h -- shared helpers of the libFuzzer targets (see fuzz/README.md).
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput. Errors are the expected
 * outcome for most inputs: what a target looks for is a crash, a leak, a hang,
 * undefined behaviour, or a broken invariant (reported with abort()).
 */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include "confiture.h"
#include "fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* A NUL-terminated copy of the input (the loaders take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* CONFITURE_* variables of the shell running the fuzzer would change what
 * a config means from one machine to the next: clear them once. */
static inline void fuzz_clear_env(void)
{
	for (;;) {
		char **e = environ;
		while (*e && strncmp(*e, "CONFITURE_", 10) != 0)
			e++;
		if (!*e)
			break;
		char *name = strndup(*e, strcspn(*e, "="));
		unsetenv(name);
		free(name);
	}
}

static char fuzz_dir_path[64];

static inline void fuzz_dir_remove(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, fuzz_dir_path);
	cf_ctx_free(ctx);
}

/* A scratch directory for the process, made once, removed at exit. */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/cf_fuzz_XXXXXX",
		         base && strlen(base) < 40 ? base : "/tmp");
		if (!mkdtemp(fuzz_dir_path))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Writes DATA to DIR/REL (creating parents), or removes it when DATA is NULL. */
static inline void fuzz_put(const char *rel, const void *data, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), rel);
	if (!data) {
		unlink(path);
		return;
	}
	char *slash = strrchr(path, '/');
	*slash = '\0';
	cf_ctx *ctx = cf_ctx_new();
	cf_mkdirs(ctx, path, 0755);
	cf_ctx_free(ctx);
	*slash = '/';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* abort() with a message when COND is false: a broken invariant. */
#define FUZZ_ASSERT(cond)                                                                   \
	do {                                                                                    \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
			abort();                                                                        \
		}                                                                                   \
	} while (0)

#endif
