/*
 * ctx.h -- the context's layout, private to libconfiture.
 *
 * Medium code reads the config through ctx->cfg and touches nothing else
 * directly: errors, logs, hooks and connections go through their modules.
 */
#ifndef CF_CTX_H
#define CF_CTX_H

#include "confiture.h"
#include "buf.h"
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct cf_err {
	bool is_set;
	bool is_fresh; /* the last cf_error_set was the one recorded */
	cf_status code;
	char *message, *detail, *hint, *context, *file, *sqlstate;
	int line, column;
	int server_pos;
	cf_error_info info; /* view handed out by cf_last_error_info */
} cf_err;

typedef struct cf_hook_cb {
	char *event;
	cf_hook_fn fn;
	void *ud;
	char *origin;          /* "api" or "plugin NAME" */
} cf_hook_cb;

struct cf_plugin_set;

#define CF_MAX_CANCELS 256

struct cf_ctx {
	pthread_mutex_t mu;    /* guards err, logging, progress and cancels */
	cf_err err;

	cf_log_fn log_fn;
	void *log_ud;
	cf_progress_fn progress_fn;
	void *progress_ud;

	char *config_file;     /* from cf_ctx_set_config_file */
	char *project_file;    /* the project file loaded, or NULL */
	char *project_dir;     /* absolute, after load */
	char *env;             /* resolved environment name */
	cf_config *cfg;        /* the loaded environment; defaults before load */
	cf_overrides overrides;

	atomic_bool is_cancelled;
	void *cancels[CF_MAX_CANCELS]; /* PGcancel * of open connections */

	cf_hook_cb *hook_cbs;
	size_t n_hook_cbs;
	struct cf_plugin_set *plugins;

	char execution_id[37];
	char *app_name;        /* fallback_application_name */
	cf_strv secrets;       /* values scrubbed from hook environments */
	bool is_hooks_off;     /* scratch work (diff, check) fires no hooks */
	struct cf_ctx *linked[4]; /* contexts cancelled with this one (guarded by mu) */
	cf_strv notices;       /* once-a-run notices already logged (cf_log_info_once) */
};

/*
 * Makes cf_ctx_cancel(PARENT) cancel CHILD too, until unlinked: for work a
 * layer above the mediums runs on a context of its own (a scratch build).
 * CHILD is cancelled at once when PARENT already is.
 */
void cf_ctx_link_cancel(cf_ctx *parent, cf_ctx *child);
void cf_ctx_unlink_cancel(cf_ctx *parent, cf_ctx *child);

/* Registers VALUE as a secret for this context (copied, wiped on free). */
void cf_ctx_add_secret(cf_ctx *ctx, const char *value);


#endif
