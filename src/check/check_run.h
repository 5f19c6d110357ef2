/*
 * check_run.h -- the state of one cf_check run, shared by its steps
 * (check.c, downs.c). Private to src/check.
 */
#ifndef CF_CHECK_RUN_H
#define CF_CHECK_RUN_H

#include "check.h"

#include <stdarg.h>

typedef struct checker {
	cf_ctx *ctx;
	cf_check_result *r;
	scratch s;
	bool has_scratch;
	side schema;            /* db/schema, built */
	side mig;               /* db/migrations, replayed */
	size_t n_schema_files;
	bool schema_parses;
	bool has_migrations;    /* the migrations directory exists */
	double t_step;
	double t_build;         /* the build and the replay, run side by side */
} checker;

/* Appends a step (status "passed" until step_end says otherwise). */
cf_check_step *step_begin(checker *k, const char *name, const char *title);
/* Appends a copy of E to the step's errors. */
void step_error(cf_check_step *s, const cf_error_item *e);
/* Moves the error recorded on CTX (if any) to the step; clears it. */
void step_error_ctx(cf_check_step *s, cf_ctx *ctx);
void step_end(checker *k, cf_check_step *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Rewrites the build's file names (relative to the working directory) as
 * relative to the project. */
void check_relative_files(cf_ctx *ctx, cf_error_item *v, size_t n);

/* --downs (downs.c). */
void step_downs(checker *k);

#endif
