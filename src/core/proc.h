/*
 * proc.h -- running child processes: hooks and the server binaries.
 *
 * Children get their own session (so a timeout can kill the whole group),
 * no inherited descriptors beyond 0-2, and, when confiture runs as root and
 * RUN_AS is set, that user's identity.
 */
#ifndef CF_PROC_H
#define CF_PROC_H

#include "confiture.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_proc_opts {
	const char *const *argv;     /* argv[0] is looked up in PATH when it has no "/" */
	const char *const *envp;     /* NULL inherits the environment */
	const char *cwd;             /* NULL keeps the current directory */
	const char *stdin_data;      /* written to stdin, then closed; NULL is /dev/null */
	size_t stdin_len;
	const char *log_path;        /* stdout and stderr appended here, or */
	cf_buf *output;              /* captured here, or discarded when both NULL */
	long timeout_ms;             /* 0: wait forever */
	const char *run_as;          /* user to become when running as root */
} cf_proc_opts;

typedef struct cf_proc_result {
	int exit_code;               /* -1 when killed by a signal */
	int signal;
	bool timed_out;
} cf_proc_result;

/* Runs a child to completion. CF_ERR_IO when it cannot be started. */
cf_status cf_proc_run(cf_ctx *ctx, const cf_proc_opts *o, cf_proc_result *r);

/* Resolves USER's uid/gid; false when there is no such user. */
bool cf_user_ids(const char *user, unsigned *uid, unsigned *gid);

#endif
