/*
 * events.c -- `--events FILE|-|fd:N`: JSON Lines for machines.
 *
 * Each progress report of the library becomes one JSON object on one line
 * (docs/events.md, docs/schemas/events.schema.json). The last line is the
 * "done" event, which carries the command's result: the envelope that
 * `-f json` prints (cli_json_envelope).
 *
 * The run never waits for the reader: lines go into a queue that a writer
 * thread drains. When the queue grows past QUEUE_MAX (a reader that does not
 * keep up), "progress" events are dropped, never the others. A reader that
 * goes away (EPIPE) ends the stream, not the run. At the end, the writer gets
 * FINISH_WAIT_S seconds to deliver what is queued.
 */
#include "cli.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX (1u << 20)
#define FINISH_WAIT_S 10

typedef struct line {
	char *text;              /* one JSON object and its newline */
	size_t len;
	struct line *next;
} line;

struct cli_events {
	char *path;              /* a FIFO opened by the writer, or NULL */
	int fd;                  /* -1 until open */
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* lines queued, or closing; and the writer's progress */
	line *head, *tail;
	size_t queued;           /* bytes */
	bool is_closing, is_writer_done, has_thread;
	int write_errno;         /* why the stream ended early, or 0 */
	pthread_t thread;
	long long seq, dropped;
	char run_id[37];
	cf_progress last;        /* the library's DONE report, counters only */
	bool has_last, has_start;
	char *last_medium, *last_unit, *last_item_kind;
};

/* ---- Writer thread ------------------------------------------------------------- */

static bool write_all(int fd, const char *p, size_t n, int *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? errno : EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void *writer_main(void *arg)
{
	cli_events *e = arg;
	if (e->fd < 0) {
		/* A FIFO: opening it waits for a reader, here rather than in the run. */
		int fd = open(e->path, O_WRONLY | O_CLOEXEC);
		pthread_mutex_lock(&e->mu);
		e->fd = fd;
		if (fd < 0)
			e->write_errno = errno;
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (!e->head && !e->is_closing)
			pthread_cond_wait(&e->cv, &e->mu);
		line *l = e->head;
		if (!l)
			break;
		e->head = l->next;
		if (!e->head)
			e->tail = NULL;
		e->queued -= l->len;
		int fd = e->write_errno ? -1 : e->fd;
		pthread_mutex_unlock(&e->mu);
		int err = 0;
		if (fd >= 0 && !write_all(fd, l->text, l->len, &err)) {
			pthread_mutex_lock(&e->mu);
			e->write_errno = err;
			pthread_mutex_unlock(&e->mu);
		}
		free(l->text);
		free(l);
		pthread_mutex_lock(&e->mu);
		pthread_cond_broadcast(&e->cv);
	}
	e->is_writer_done = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Queues TEXT (taken). A progress line is dropped when the reader lags. */
static void enqueue(cli_events *e, char *text, bool is_droppable)
{
	size_t len = strlen(text);
	pthread_mutex_lock(&e->mu);
	if ((is_droppable && e->queued + len > QUEUE_MAX) || e->write_errno) {
		e->dropped += is_droppable;
		pthread_mutex_unlock(&e->mu);
		free(text);
		return;
	}
	line *l = cf_calloc(1, sizeof(*l));
	l->text = text;
	l->len = len;
	if (e->tail)
		e->tail->next = l;
	else
		e->head = l;
	e->tail = l;
	e->queued += len;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* ---- Opening ------------------------------------------------------------------------ */

static cf_status open_target(cli *c, cli_events *e, const char *target)
{
	if (strcmp(target, "-") == 0) {
		if (c->format == CLI_JSON) {
			cf_error_set(c->ctx, CF_ERR_USAGE, "--events - and --format json both write to "
			             "standard output");
			cf_error_hint(c->ctx, "Send the events elsewhere, e.g. --events fd:3 3>events.jsonl, "
			                      "or drop -f json: the last event carries the JSON result.");
			return CF_ERR_USAGE;
		}
		/* stdout carries the events; what the command prints goes to stderr. */
		e->fd = dup(1);
		if (e->fd < 0 || dup2(2, 1) < 0)
			return cf_error_set(c->ctx, CF_ERR_IO, "could not set up the events stream: %s",
			                    strerror(errno));
		return CF_OK;
	}
	if (strncmp(target, "fd:", 3) == 0) {
		char *end;
		long fd = strtol(target + 3, &end, 10);
		if (!target[3] || *end || fd < 0 || fd > 65535) {
			cf_error_set(c->ctx, CF_ERR_USAGE, "invalid --events target \"%s\"", target);
			cf_error_hint(c->ctx, "Use a file name, \"-\" for standard output, or fd:N.");
			return CF_ERR_USAGE;
		}
		if (fcntl((int)fd, F_GETFL) < 0) {
			cf_error_set(c->ctx, CF_ERR_USAGE, "--events %s: file descriptor %ld is not open",
			             target, fd);
			cf_error_hint(c->ctx, "Open it in the shell, e.g. 3>events.jsonl.");
			return CF_ERR_USAGE;
		}
		e->fd = (int)fd;
		return CF_OK;
	}
	/* Non-blocking: a FIFO without a reader must not hold the run. */
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
	struct stat sb;
	if (fd < 0 && errno == ENXIO && stat(target, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
		e->path = cf_strdup(target);
		return CF_OK;
	}
	if (fd < 0)
		return cf_error_set(c->ctx, CF_ERR_IO, "could not open events file \"%s\": %s", target,
		                    strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	e->fd = fd;
	return CF_OK;
}

cf_status cli_events_open(cli *c, const char *target)
{
	cli_events *e = cf_calloc(1, sizeof(*e));
	e->fd = -1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	cf_status st = open_target(c, e, target);
	/* A reader that goes away must end the stream, not the process. */
	signal(SIGPIPE, SIG_IGN);
	if (!st && pthread_create(&e->thread, NULL, writer_main, e) != 0)
		st = cf_error_set(c->ctx, CF_ERR_INTERNAL, "could not start the events writer");
	e->has_thread = st == CF_OK;
	c->events = e;
	return st;
}

/* ---- Encoding ------------------------------------------------------------------------- */

static const char *event_name(cf_progress_kind k)
{
	switch (k) {
	case CF_PROGRESS_START: return "start";
	case CF_PROGRESS_ITEM_START: return "table_start";
	case CF_PROGRESS_UPDATE: return "progress";
	case CF_PROGRESS_ITEM_DONE: return "table_done";
	case CF_PROGRESS_RETRY: return "retry";
	case CF_PROGRESS_PHASE: return "phase";
	case CF_PROGRESS_ERROR: return "error";
	case CF_PROGRESS_DONE: return "done";
	}
	return "progress";
}

/* A number, or null when it is not known (negative). */
static void kv_known(cf_json *j, const char *key, double v)
{
	cf_json_key(j, key);
	if (v < 0)
		cf_json_null(j);
	else
		cf_json_num(j, v);
}

static void head(cli_events *e, cf_json *j, const char *event, const char *command)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "event", event);
	cf_json_kv_str(j, "run_id", e->run_id);
	cf_json_kv_str(j, "ts", when);
	cf_json_kv_int(j, "seq", ++e->seq);
	cf_json_kv_str(j, "command", command);
}

static void item_member(cf_json *j, const cf_progress *p)
{
	cf_json_key(j, "item");
	if (!p->item) {
		cf_json_null(j);
		return;
	}
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "kind", p->item_kind);
	cf_json_kv_str(j, "name", p->item);
	cf_json_kv_count(j, "done", p->item_done);
	cf_json_kv_count(j, "total", p->item_total);
	kv_known(j, "percent", p->item_percent);
	kv_known(j, "rate", p->item_rate);
	kv_known(j, "eta_s", p->item_eta_s);
	kv_known(j, "elapsed_s", p->item_elapsed_s);
	cf_json_kv_int(j, "rows", p->rows);
	cf_json_kv_int(j, "bytes", p->bytes);
	cf_json_obj_end(j);
}

/* The counters every event carries. */
static void counters(cf_json *j, const cf_progress *p)
{
	cf_json_kv_str(j, "medium", p->medium);
	cf_json_kv_str(j, "phase", p->phase);
	cf_json_kv_str(j, "unit", p->unit);
	cf_json_kv_int(j, "done", p->units_done);
	cf_json_kv_count(j, "total", p->units_total);
	kv_known(j, "percent", p->percent);
	kv_known(j, "rate", p->rate);
	kv_known(j, "eta_s", p->eta_s);
	kv_known(j, "elapsed_s", p->elapsed_s);
	cf_json_kv_int(j, "items_done", p->done);
	cf_json_kv_count(j, "items_total", p->total);
	cf_json_kv_int(j, "rows", p->run_rows);
	cf_json_kv_int(j, "bytes", p->run_bytes);
	kv_known(j, "rows_per_s", p->rows_per_s);
	cf_json_kv_count(j, "phase_done", p->phase_done);
	cf_json_kv_count(j, "phase_total", p->phase_total);
}

static void remember(cli_events *e, const cf_progress *p)
{
	e->last = *p;
	e->last.item = NULL;
	e->last.phase = NULL;
	e->last.message = NULL;
	cf_str_set(&e->last_medium, p->medium);
	cf_str_set(&e->last_unit, p->unit);
	cf_str_set(&e->last_item_kind, p->item_kind);
	e->last.medium = e->last_medium;
	e->last.unit = e->last_unit;
	e->last.item_kind = e->last_item_kind;
	e->has_last = true;
}

void cli_events_progress(cli *c, const cf_progress *p)
{
	cli_events *e = c->events;
	if (p->run_id && *p->run_id)
		memcpy(e->run_id, p->run_id, sizeof(e->run_id));
	remember(e, p);
	/* The last event is the command's "done", written by cli_events_finish. */
	if (p->kind == CF_PROGRESS_DONE)
		return;
	if (p->kind == CF_PROGRESS_START) {
		if (e->has_start)
			return; /* a second run of the same command goes on in one stream */
		e->has_start = true;
	}
	cf_buf b;
	cf_json j;
	cf_buf_init(&b);
	cf_json_init(&j, &b, false);
	head(e, &j, event_name(p->kind), c->command);
	counters(&j, p);
	item_member(&j, p);
	if (p->kind == CF_PROGRESS_RETRY) {
		cf_json_kv_int(&j, "attempt", p->attempt);
		cf_json_kv_int(&j, "max_attempts", p->max_attempts);
		cf_json_kv_num(&j, "delay_s", p->delay_s);
	}
	if (p->kind == CF_PROGRESS_RETRY || p->kind == CF_PROGRESS_ERROR ||
	    p->kind == CF_PROGRESS_ITEM_DONE)
		cf_json_kv_str(&j, "message", p->message);
	if (p->kind == CF_PROGRESS_ITEM_DONE)
		cf_json_kv_bool(&j, "success", p->is_ok);
	cf_json_obj_end(&j);
	cf_buf_putc(&b, '\n');
	enqueue(e, cf_buf_detach(&b), p->kind == CF_PROGRESS_UPDATE);
}

/* ---- Finishing -------------------------------------------------------------------------- */

/* The counters of a command that reported none (no library run). */
static void empty_counters(cf_progress *p, const char *command)
{
	*p = (cf_progress){.medium = command, .units_total = -1, .total = -1, .percent = -1,
	                   .rate = -1, .rows_per_s = -1, .eta_s = -1, .elapsed_s = -1,
	                   .phase_done = -1, .phase_total = -1};
}

static void write_final(cli *c, const char *event, cf_status st)
{
	cli_events *e = c->events;
	cf_progress p;
	if (e->has_last)
		p = e->last;
	else
		empty_counters(&p, c->command);
	p.item = NULL;
	cf_buf b;
	cf_json j;
	cf_buf_init(&b);
	cf_json_init(&j, &b, false);
	head(e, &j, event, c->command);
	if (!st && strcmp(event, "done") == 0) {
		p.percent = 100;
		p.eta_s = 0;
	}
	counters(&j, &p);
	item_member(&j, &p);
	if (strcmp(event, "error") == 0) {
		cf_json_key(&j, "error");
		cli_json_error_value(c, &j, st);
	} else if (strcmp(event, "done") == 0) {
		cf_json_kv_bool(&j, "success", st == CF_OK);
		cf_json_kv_int(&j, "exit_code", cli_exit_code(st));
		cf_json_kv_int(&j, "events_dropped", e->dropped);
		cf_json_key(&j, "result");
		cf_buf doc;
		cf_buf_init(&doc);
		cli_json_envelope(c, st, &doc);
		cf_json_raw(&j, doc.data);
		cf_buf_release(&doc);
	}
	cf_json_obj_end(&j);
	cf_buf_putc(&b, '\n');
	enqueue(e, cf_buf_detach(&b), false);
}

/* Waits for the writer to deliver the queue, FINISH_WAIT_S seconds at most. */
static bool drain(cli_events *e)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += FINISH_WAIT_S;
	pthread_mutex_lock(&e->mu);
	e->is_closing = true;
	pthread_cond_broadcast(&e->cv);
	int rc = 0;
	while (!e->is_writer_done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&e->cv, &e->mu, &until);
	bool done = e->is_writer_done;
	pthread_mutex_unlock(&e->mu);
	return done;
}

static void events_free(cli_events *e)
{
	while (e->head) {
		line *l = e->head;
		e->head = l->next;
		free(l->text);
		free(l);
	}
	if (e->fd > 2)
		close(e->fd);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e->path);
	free(e->last_medium);
	free(e->last_unit);
	free(e->last_item_kind);
	free(e);
}

void cli_events_finish(cli *c, cf_status st)
{
	cli_events *e = c->events;
	if (!e)
		return;
	if (!e->has_thread) {
		events_free(e);
		c->events = NULL;
		return;
	}
	if (!e->run_id[0])
		cf_uuid_v4(e->run_id);
	if (!e->has_start) {
		e->has_start = true;
		write_final(c, "start", CF_OK);
	}
	if (st)
		write_final(c, "error", st);
	write_final(c, "done", st);
	bool delivered = drain(e);
	int err = e->write_errno;
	if (!delivered) {
		/* The reader holds the stream: leave the writer behind, exit anyway. */
		pthread_detach(e->thread);
		cli_logger(c, CF_LOG_WARNING, "the events reader did not keep up; the last events "
		                              "were not delivered");
		c->events = NULL;
		return;
	}
	pthread_join(e->thread, NULL);
	if (err) {
		char *msg = cf_asprintf("the events stream ended early (%s); the run went on",
		                        strerror(err));
		cli_logger(c, CF_LOG_WARNING, msg);
		free(msg);
	}
	events_free(e);
	c->events = NULL;
}
