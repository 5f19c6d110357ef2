/*
 * pipe.c -- the COPY stream of a large masked table, masked on several cores.
 *
 * Hashing every masked value is the costly part of an anonymized copy (two
 * BLAKE2b compressions per value), so for large tables the work is spread:
 *
 *   reader thread   COPY TO STDOUT on the source -> batches of whole rows
 *   masker threads  batch -> rewritten batch (stream.c), any order
 *   the worker      rewritten batches -> COPY FROM STDIN, in order
 *
 * Batches live in a ring of fixed size, so memory stays bounded (a few MB)
 * whatever the table's size, and rows reach the target in source order.
 */
#include "sync.h"
#include "error.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_BATCH 8
#define BATCH_BYTES (256 * 1024)

typedef enum bstate { B_FREE, B_FILLED, B_MASKING, B_DONE, B_FAILED } bstate;

typedef struct batch {
	cf_buf in, out;
	bstate state;
	bool has_header;
	long long first_row;     /* rows before this batch (for messages) */
	long long rows;
	int fail_col;
	const char *fail_why;
	long long fail_row;
} batch;

typedef struct pipeline {
	const plan_table *t;
	cf_pg *src;
	runner *R;
	batch ring[N_BATCH];
	size_t head;             /* next batch the reader fills */
	size_t next;             /* next batch a masker takes */
	size_t tail;             /* next batch the writer sends */
	bool eof;                /* the reader is done (source finished) */
	bool source_failed;
	bool abort;              /* stop everything */
	pthread_mutex_t mu;
	pthread_cond_t cv;
} pipeline;

static batch *slot(pipeline *p, size_t i)
{
	return &p->ring[i % N_BATCH];
}

/* Reader: fills free batches with whole CopyData messages. */
static void *reader_main(void *arg)
{
	pipeline *p = arg;
	long long msgs = 0;
	bool first = true, done = false;
	while (!done) {
		pthread_mutex_lock(&p->mu);
		while (!p->abort && slot(p, p->head)->state != B_FREE)
			pthread_cond_wait(&p->cv, &p->mu);
		bool stop = p->abort;
		batch *b = slot(p, p->head);
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		cf_buf_reset(&b->in);
		b->has_header = first;
		b->first_row = msgs;
		first = false;
		while (b->in.len < BATCH_BYTES) {
			char *buf;
			long n = cf_pg_copy_out_read(p->src, &buf);
			if (n <= 0) {
				pthread_mutex_lock(&p->mu);
				p->source_failed = n < 0;
				pthread_mutex_unlock(&p->mu);
				done = true;
				break;
			}
			cf_buf_append(&b->in, buf, (size_t)n);
			cf_pg_copy_free(buf);
			msgs++;
		}
		pthread_mutex_lock(&p->mu);
		if (b->in.len) {
			b->state = B_FILLED;
			p->head++;
		}
		if (done)
			p->eof = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	p->eof = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Masker: rewrites filled batches. */
static void *masker_main(void *arg)
{
	pipeline *p = arg;
	stream s;
	stream_init(&s, p->t);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->abort && p->next == p->head && !p->eof)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->abort || p->next == p->head) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		batch *b = slot(p, p->next++);
		b->state = B_MASKING;
		pthread_mutex_unlock(&p->mu);

		cf_buf_reset(&s.out);
		s.header_done = !b->has_header;
		s.trailer_seen = false;
		s.rows = 0;
		s.fail_col = -1;
		s.fail_why = NULL;
		cf_buf_reset(&s.carry);
		bool ok = stream_feed(&s, b->in.data, b->in.len);
		if (ok && s.carry.len) {
			ok = false;
			s.fail_why = "the stream ended inside a row";
		}
		/* Hand the output over by swapping buffers: no copy. */
		cf_buf tmp = b->out;
		b->out = s.out;
		s.out = tmp;
		b->rows = s.rows;
		b->fail_col = s.fail_col;
		b->fail_why = s.fail_why;
		b->fail_row = b->first_row + s.rows + 1;
		cf_memzero(b->in.data, b->in.len);

		pthread_mutex_lock(&p->mu);
		b->state = ok ? B_DONE : B_FAILED;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	stream_release(&s);
	return NULL;
}

static void pipeline_abort(pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	p->abort = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int pipe_maskers(long jobs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long m = (cpus > 0 ? cpus : 1) / (jobs > 0 ? jobs : 1);
	return (int)(m < 1 ? 1 : m > 4 ? 4 : m);
}

cf_status pipe_copy(runner *R, cf_ctx *ctx, cf_pg *src, cf_pg *dst, const plan_table *t,
                    const char *key, int maskers, long long *bytes, pipe_fail *fail)
{
	pipeline p = {.t = t, .src = src, .R = R};
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	for (int i = 0; i < N_BATCH; i++) {
		cf_buf_init(&p.ring[i].in);
		cf_buf_init(&p.ring[i].out);
		cf_buf_reserve(&p.ring[i].in, BATCH_BYTES + 64 * 1024);
	}
	pthread_t reader, masker[8];
	int n_maskers = 0;
	bool reader_up = pthread_create(&reader, NULL, reader_main, &p) == 0;
	for (int i = 0; reader_up && i < maskers && i < 8; i++)
		if (pthread_create(&masker[n_maskers], NULL, masker_main, &p) == 0)
			n_maskers++;
	cf_status st = CF_OK;
	if (!reader_up || n_maskers == 0)
		st = cf_error_set(ctx, CF_ERR_INTERNAL, "could not start the masking threads");
	long long rows = 0;
	while (!st) {
		pthread_mutex_lock(&p.mu);
		batch *b = slot(&p, p.tail);
		while (b->state != B_DONE && b->state != B_FAILED && !(p.eof && p.tail == p.head) &&
		       !p.abort)
			pthread_cond_wait(&p.cv, &p.mu);
		bool finished = p.eof && p.tail == p.head;
		bool failed = b->state == B_FAILED;
		pthread_mutex_unlock(&p.mu);
		if (finished)
			break;
		if (failed) {
			/* Recorded now, before cancelling the source adds its own error. */
			fail->col = b->fail_col;
			fail->why = b->fail_why;
			fail->row = b->fail_row;
			st = sync_mask_error(ctx, t, b->fail_col, b->fail_why, b->fail_row);
			break;
		}
		st = cf_pg_copy_in_put(dst, b->out.data, b->out.len);
		*bytes += (long long)b->out.len;
		rows += b->rows;
		cf_memzero(b->out.data, b->out.len);
		cf_buf_reset(&b->out);
		pthread_mutex_lock(&p.mu);
		b->state = B_FREE;
		p.tail++;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		if (cf_ctx_is_cancelled(ctx)) {
			st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
			break;
		}
		if (atomic_load(&R->stop)) {
			st = cf_error_code(ctx) ? cf_error_code(ctx) : CF_ERR_CANCELLED;
			break;
		}
		cf_prog_item_part(R->prog, t->st->qname, key, rows, rows, *bytes);
	}
	bool cancelled = false;
	if (st) {
		/* Stop the source so the reader returns, then everyone else. */
		pthread_mutex_lock(&p.mu);
		cancelled = !p.eof;
		pthread_mutex_unlock(&p.mu);
		if (cancelled)
			cf_pg_cancel_shared(src);
		pipeline_abort(&p);
	}
	if (reader_up)
		pthread_join(reader, NULL);
	pipeline_abort(&p);
	for (int i = 0; i < n_maskers; i++)
		pthread_join(masker[i], NULL);
	if (!st && p.source_failed)
		st = cf_error_code(ctx) ? cf_error_code(ctx) : CF_ERR_SQL;
	/* A source that failed because we cancelled it is not news. */
	fail->source_failed = p.source_failed && !cancelled;
	fail->reader_done = p.eof;
	for (int i = 0; i < N_BATCH; i++) {
		cf_memzero(p.ring[i].in.data, p.ring[i].in.cap);
		cf_memzero(p.ring[i].out.data, p.ring[i].out.cap);
		cf_buf_release(&p.ring[i].in);
		cf_buf_release(&p.ring[i].out);
	}
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	return st;
}
