/*
 * batch.c -- the files of one lint, parsed on other threads a few files
 * ahead of the rules.
 *
 * Parsing (libpg_query's parser, its protobuf tree packed and unpacked, its
 * scanner for the comments) is most of lint's time. The rules must see the
 * files in order, since they model what earlier files created, but a file's
 * parse needs nothing from the others: THREADS threads parse, at most
 * WINDOW files ahead (a large project's trees never all sit in memory at
 * once), while the calling thread runs the rules on each file in turn.
 */
#include "lint_int.h"
#include "ctx.h"
#include "error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 32
#define THREADS 2
/* Fewer files than this are not worth a thread. */
#define MIN_JOBS 4

typedef struct ahead {
	lint_batch *b;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool *ready;     /* per job: parsed */
	size_t next;     /* the next job a thread takes */
	size_t consumed; /* jobs [0, consumed) are done with */
} ahead;

lint_job *lint_batch_add(lint_batch *b, char *file, char *text, size_t len)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->jobs = cf_realloc(b->jobs, b->cap * sizeof(lint_job));
	}
	lint_job *j = &b->jobs[b->n++];
	*j = (lint_job){.in = {.file = file, .text = text, .len = len}};
	return j;
}

static void parse_job(cf_ctx *ctx, lint_job *j)
{
	if (j->is_model_only)
		return;
	j->in.is_parsed = true;
	if (cf_sqltree_parse(ctx, j->in.file, j->in.text, j->in.len, &j->in.tree) == CF_OK)
		return;
	j->in.parse_err = cf_ctx_new();
	cf_error_copy(j->in.parse_err, ctx);
	cf_ctx_clear_error(ctx);
}

static void *parse_ahead(void *arg)
{
	ahead *a = arg;
	cf_ctx *ctx = cf_ctx_new();
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->next < a->b->n && a->next >= a->consumed + WINDOW)
			pthread_cond_wait(&a->cv, &a->mu);
		size_t i = a->next++;
		pthread_mutex_unlock(&a->mu);
		if (i >= a->b->n)
			break;
		/* The rules are done with the job WINDOW back: its tree goes here,
		 * off their thread. */
		if (i >= WINDOW) {
			cf_sqltree_free(a->b->jobs[i - WINDOW].in.tree);
			a->b->jobs[i - WINDOW].in.tree = NULL;
		}
		parse_job(ctx, &a->b->jobs[i]);
		pthread_mutex_lock(&a->mu);
		a->ready[i] = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
	cf_ctx_free(ctx); /* libpg_query frees its own memory as the thread ends */
	return NULL;
}

static void run_job(lint_run *run, lint_job *j)
{
	if (j->is_model_only)
		lint_model_file(run, j->in.file, j->in.text, j->in.len);
	else
		lint_file_run(run, &j->in);
}

void lint_batch_run(lint_run *run, lint_batch *b)
{
	ahead a = {.b = b};
	pthread_t th[THREADS];
	int n_th = 0;
	bool sync_ok = b->n >= MIN_JOBS && pthread_mutex_init(&a.mu, NULL) == 0;
	if (sync_ok && pthread_cond_init(&a.cv, NULL) != 0) {
		pthread_mutex_destroy(&a.mu);
		sync_ok = false;
	}
	if (sync_ok) {
		a.ready = cf_calloc(b->n, sizeof(bool));
		while (n_th < THREADS && pthread_create(&th[n_th], NULL, parse_ahead, &a) == 0)
			n_th++;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (n_th) { /* else each file is parsed as the rules reach it */
			pthread_mutex_lock(&a.mu);
			while (!a.ready[i])
				pthread_cond_wait(&a.cv, &a.mu);
			pthread_mutex_unlock(&a.mu);
		}
		run_job(run, &b->jobs[i]);
		if (n_th) {
			pthread_mutex_lock(&a.mu);
			a.consumed = i + 1;
			pthread_cond_broadcast(&a.cv);
			pthread_mutex_unlock(&a.mu);
		}
	}
	for (int k = 0; k < n_th; k++)
		pthread_join(th[k], NULL);
	if (sync_ok) {
		free(a.ready);
		pthread_cond_destroy(&a.cv);
		pthread_mutex_destroy(&a.mu);
	}
}

void lint_batch_release(lint_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		lint_input *in = &b->jobs[i].in;
		cf_sqltree_free(in->tree);
		cf_ctx_free(in->parse_err);
		free((char *)in->file);
		free((char *)in->text);
		free((char *)in->refused);
	}
	free(b->jobs);
	memset(b, 0, sizeof(*b));
}
