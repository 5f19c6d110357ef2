/*
 * downs.c -- check --downs: each migration's .down.sql undoes its .up.sql.
 *
 * In a scratch database of its own, for each migration in order: snapshot,
 * up, snapshot, down, snapshot, compare the last with the first, and up again
 * so that the next migration starts where the replay would. A missing
 * .down.sql is reported and the walk goes on; a down that fails or leaves
 * something behind is reported with the SQL of the difference.
 */
#include "check_run.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

typedef struct walk {
	checker *k;
	cf_check_step *s;
	cf_ctx *child;          /* runs the migrations */
	cf_pg *pg;              /* reads the catalogs */
	sc_filter filter;
	check_own own;          /* the tables FILTER leaves out */
} walk;

static sc_snapshot *snap(walk *w)
{
	sc_snapshot *out = NULL;
	if (sc_snapshot_take(w->pg, &w->filter, &out))
		step_error_ctx(w->s, w->k->ctx);
	return out;
}

/* Moves the child's error to the step, at FILE when it names none. */
static void child_error(walk *w, cf_check_migration *m, const char *file)
{
	cf_errlist l = {0};
	cf_errlist_push_ctx(&l, w->child);
	for (size_t i = 0; i < l.n; i++) {
		if (!l.v[i].file && file)
			l.v[i].file = cf_strdup(file);
		if (!m->message)
			m->message = cf_strdup(l.v[i].message);
		step_error(w->s, &l.v[i]);
	}
	cf_errlist_release(&l);
	cf_ctx_clear_error(w->child);
}

static cf_status up_to(walk *w, const char *version)
{
	cf_migrate_opts o = {.target = version};
	cf_migrate_result *r = NULL;
	cf_status st = cf_migrate_up(w->child, &o, &r);
	cf_migrate_result_free(r);
	return st;
}

static cf_status down_one(walk *w)
{
	cf_migrate_opts o = {.steps = 1};
	cf_migrate_result *r = NULL;
	cf_status st = cf_migrate_down(w->child, &o, &r);
	cf_migrate_result_free(r);
	return st;
}

static void missing_down(walk *w, cf_check_migration *m)
{
	m->down = "missing";
	m->message = cf_asprintf("migration \"%s_%s\" has no .down.sql", m->version, m->name);
	cf_error_item e = {.code = CF_ERR_IRREVERSIBLE, .message = m->message, .file = m->file,
	                   .hint = "Write its .down.sql, or mark it irreversible in review."};
	step_error(w->s, &e);
}

/* Compares the state after the down with BEFORE. */
static void judge(walk *w, cf_check_migration *m, const sc_snapshot *before,
                  const sc_snapshot *after)
{
	sc_diff *d = sc_diff_new(after, before);
	if (!d->n_changes && !d->n_unmodeled_differ) {
		m->down = "passed";
	} else {
		m->down = "failed";
		m->sql = sc_diff_script(d->changes, d->n_changes, "the database after the down",
		                        "the database before the up", d->notes.v, d->notes.n);
		m->message = d->n_changes
		                 ? cf_asprintf("%s does not undo its up: %zu difference%s remain",
		                               m->down_file, d->n_changes, d->n_changes == 1 ? "" : "s")
		                 : cf_asprintf("%s does not undo its up: %s", m->down_file,
		                               d->notes.v[0]);
		cf_error_item e = {.code = CF_ERR_CHECK, .message = m->message, .file = m->down_file};
		step_error(w->s, &e);
	}
	sc_diff_free(d);
}

/* After a down that left something behind: a fresh scratch database with the
 * migrations up to VERSION, so that the walk goes on from a known state. */
static bool reset_to(walk *w, cf_check_migration *m)
{
	cf_pg_close(w->pg);
	scratch_child_free(w->k->ctx, w->child);
	w->pg = NULL;
	w->child = NULL;
	char *conninfo = NULL;
	cf_status st = scratch_create(&w->k->s, "downs", &conninfo);
	if (!st)
		st = scratch_child(w->k->ctx, conninfo, &w->child);
	if (!st)
		st = cf_pg_connect(w->k->ctx, conninfo, &w->pg);
	cf_secret_free(conninfo);
	if (st) {
		step_error_ctx(w->s, w->k->ctx);
		return false;
	}
	if (up_to(w, m->version)) {
		child_error(w, m, m->file);
		return false;
	}
	return true;
}

/* One migration: returns false when the walk cannot go on. */
static bool walk_one(walk *w, cf_check_migration *m, sc_snapshot **before)
{
	double t0 = cf_now();
	if (up_to(w, m->version)) {
		child_error(w, m, m->file);
		return false;
	}
	sc_snapshot *up = snap(w);
	if (!up)
		return false;
	bool ok = true;
	if (!m->down_file) {
		missing_down(w, m);
	} else if (down_one(w)) {
		m->down = "failed"; /* rolled back: the database is as after the up */
		child_error(w, m, m->down_file);
	} else {
		sc_snapshot *after = snap(w);
		if (after)
			judge(w, m, *before, after);
		sc_snapshot_free(after);
		if (!after)
			ok = false;
		else if (strcmp(m->down, "passed") != 0)
			ok = reset_to(w, m);
		else if (up_to(w, m->version)) {
			child_error(w, m, m->file);
			ok = false;
		}
	}
	m->duration_s += cf_now() - t0;
	sc_snapshot_free(*before);
	*before = up;
	return ok;
}

void step_downs(checker *k)
{
	cf_check_step *s = step_begin(k, "downs", "each down undoes its up");
	if (!k->r->n_migrations) {
		step_end(k, s, "skipped", "no migrations");
		return;
	}
	walk w = {.k = k, .s = s};
	check_filter(k->ctx, NULL, &w.filter, &w.own);
	char *conninfo = NULL;
	cf_status st = k->has_scratch ? scratch_create(&k->s, "downs", &conninfo) : CF_ERR_INTERNAL;
	if (!st)
		st = scratch_child(k->ctx, conninfo, &w.child);
	if (!st)
		st = cf_pg_connect(k->ctx, conninfo, &w.pg);
	sc_snapshot *before = st ? NULL : snap(&w);
	size_t n_ok = 0, n_done = 0;
	for (size_t i = 0; before && i < k->r->n_migrations && !cf_ctx_is_cancelled(k->ctx); i++) {
		cf_check_migration *m = &k->r->migrations[i];
		if (strcmp(m->replay, "passed") != 0 || !walk_one(&w, m, &before))
			break;
		n_done++;
		n_ok += strcmp(m->down, "passed") == 0;
	}
	if (st)
		step_error_ctx(s, k->ctx);
	sc_snapshot_free(before);
	cf_pg_close(w.pg);
	scratch_child_free(k->ctx, w.child);
	cf_secret_free(conninfo);
	if (s->n_errors)
		step_end(k, s, "failed", "%zu of %zu migrations have a down that undoes them",
		         n_ok, k->r->n_migrations);
	else if (!n_done) /* the first migration did not replay: nothing was checked */
		step_end(k, s, "skipped", "needs migrations that replay");
	else
		step_end(k, s, "passed", "%zu downs undo their ups", n_done);
}
