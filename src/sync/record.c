/*
 * record.c -- what a run keeps in the target, in schema "confiture"
 * (sql/sync_schema.sql): the advisory lock that lets one sync write at a
 * time, the history row of the run, and its progress items (one per table,
 * or per primary-key range), which --resume reads back.
 */
#include "sync.h"
#include "error.h"
#include "json.h"
#include "log.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pg_advisory_lock(namespace of confiture's locks, "sync") on the target. */
#define LOCK_SQL "SELECT pg_try_advisory_lock(1751936052, 1937337955)"

static char *run_by(cf_pg *dst)
{
	struct passwd *pw = getpwuid(getuid());
	char host[HOST_NAME_MAX + 1] = "";
	gethostname(host, sizeof(host) - 1);
	return cf_asprintf("%s@%s as %s", pw ? pw->pw_name : "?", host, cf_pg_user(dst));
}

static char *fmt_ll(long long v)
{
	return cf_asprintf("%lld", v);
}


cf_status sync_take_lock(runner *R)
{
	char *v = NULL;
	cf_status st = cf_pg_query_value(R->dst, LOCK_SQL, 0, NULL, &v);
	if (!st && (!v || strcmp(v, "t") != 0)) {
		cf_error_set(R->ctx, CF_ERR_LOCK, "another confiture sync is writing to %s",
		             R->to.display);
		cf_error_hint(R->ctx, "Wait for it to finish; its progress is in "
		                      "confiture.sync_history.");
		st = CF_ERR_LOCK;
	}
	R->has_lock = !st;
	free(v);
	return st;
}

/* The run to continue: the latest one, when it did not finish. */
cf_status sync_find_resumable(runner *R, char **run_id)
{
	static const char sql[] =
		"SELECT h.run_id, h.source, h.anonymized, coalesce(h.rules_sha256, '') "
		"FROM confiture.sync_history h "
		"WHERE h.started_at = (SELECT max(started_at) FROM confiture.sync_history) "
		"AND h.outcome IN ('running', 'failed', 'interrupted') "
		"AND EXISTS (SELECT 1 FROM confiture.sync_progress p WHERE p.run_id = h.run_id "
		"AND p.state <> 'done') LIMIT 1";
	*run_id = NULL;
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->dst, sql, 0, NULL, &r);
	if (st || cf_pgres_nrows(r) == 0) {
		cf_pgres_free(r);
		return st;
	}
	const char *src = cf_pgres_get(r, 0, 1);
	bool anon = strcmp(cf_pgres_get(r, 0, 2), "t") == 0;
	const char *sha = cf_pgres_get(r, 0, 3);
	const char *now_sha = R->rules ? R->rules->sha256 : "";
	if (strcmp(src, R->from.display) != 0) {
		st = cf_error_set(R->ctx, CF_ERR_VALIDATION, "cannot resume: the interrupted run copied "
		                  "from another source");
		cf_error_detail(R->ctx, "It copied from %s.", src);
	} else if (anon != R->anonymize || strcmp(sha, now_sha) != 0) {
		st = cf_error_set(R->ctx, CF_ERR_VALIDATION, "cannot resume: the interrupted run used "
		                  "other anonymization rules");
		cf_error_detail(R->ctx, "Resuming with other rules would mix two maskings in one "
		                        "target.");
	}
	if (st)
		cf_error_hint(R->ctx, "Run without --resume to copy everything again.");
	else
		*run_id = cf_strdup(cf_pgres_get(r, 0, 0));
	cf_pgres_free(r);
	return st;
}

cf_status sync_history_start(runner *R)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_history (run_id, run_by, source, target_env, tables, n_tables, "
		"anonymized, outcome, resumed_from, rules_sha256, confiture_version, mode) "
		"VALUES ($1, $2, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)), $6, $7, "
		"'running', $8, $9, $10, $11)";
	cf_buf tables;
	cf_buf_init(&tables);
	cf_json j;
	cf_json_init(&j, &tables, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < R->p->n; i++)
		cf_json_str(&j, R->p->tables[i].st->qname);
	cf_json_arr_end(&j);
	char *by = run_by(R->dst), *n = fmt_ll((long long)R->p->n);
	const char *params[] = {R->run_id, by, R->from.display, R->to.env, tables.data, n,
	                        R->anonymize ? "true" : "false", R->resumed_from,
	                        R->rules ? R->rules->sha256 : NULL, CONFITURE_VERSION,
	                        R->o->incremental ? "incremental" : "full"};
	cf_status st = cf_pg_exec_params(R->dst, sql, 11, params);
	R->history_started = !st;
	free(by);
	free(n);
	cf_buf_release(&tables);
	return st;
}

static void item_json(cf_json *j, const plan_table *t, int range, const char *state)
{
	char *key = plan_item_key(t, range);
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "item", key);
	cf_json_kv_str(j, "table_name", t->st->qname);
	cf_json_kv_int(j, "range_no", range);
	cf_json_kv_str(j, "range_lo", range > 0 ? t->bounds[range - 1] : NULL);
	cf_json_kv_str(j, "range_hi", range >= 0 && range < t->n_ranges - 1 ? t->bounds[range] : NULL);
	cf_json_kv_str(j, "state", state);
	cf_json_obj_end(j);
	free(key);
}

char *sync_truncate_key(const plan_table *t)
{
	return cf_asprintf("%s#truncate", t->st->qname);
}

/* The plan's items, pending, in one statement. */
cf_status sync_items_insert(runner *R)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_progress (run_id, item, table_name, range_no, range_lo, "
		"range_hi, state) SELECT $1, x.item, x.table_name, x.range_no, x.range_lo, x.range_hi, "
		"x.state FROM json_to_recordset($2::json) AS x(item text, table_name text, range_no int, "
		"range_lo text, range_hi text, state text) ON CONFLICT (run_id, item) DO NOTHING";
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		if (t->n_ranges <= 1) {
			item_json(&j, t, -1, "pending");
			continue;
		}
		char *tk = sync_truncate_key(t);
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "item", tk);
		cf_json_kv_str(&j, "table_name", t->st->qname);
		cf_json_kv_int(&j, "range_no", -2);
		cf_json_kv_str(&j, "state", "pending");
		cf_json_obj_end(&j);
		free(tk);
		for (int r = 0; r < t->n_ranges; r++)
			item_json(&j, t, r, "pending");
	}
	cf_json_arr_end(&j);
	const char *params[] = {R->run_id, b.data};
	cf_status st = cf_pg_exec_params(R->dst, sql, 2, params);
	cf_buf_release(&b);
	return st;
}

/* Resuming: the same ranges as the interrupted run, and its done items. */
cf_status sync_adopt_ranges(runner *R, const char *old)
{
	static const char sql[] =
		"SELECT table_name, range_no, range_hi FROM confiture.sync_progress "
		"WHERE run_id = $1 AND range_no >= -1 ORDER BY table_name, range_no";
	cf_pgres *r = NULL;
	const char *params[] = {old};
	cf_status st = cf_pg_query(R->dst, sql, 1, params, &r);
	for (size_t i = 0; !st && i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		cf_strv bounds;
		cf_strv_init(&bounds);
		bool found = false, whole = false;
		for (int k = 0; k < cf_pgres_nrows(r); k++) {
			if (strcmp(cf_pgres_get(r, k, 0), t->st->qname) != 0)
				continue;
			found = true;
			whole = whole || atoi(cf_pgres_get(r, k, 1)) == -1;
			if (cf_pgres_get(r, k, 2))
				cf_strv_push(&bounds, cf_pgres_get(r, k, 2));
		}
		if (!found) {
			cf_strv_release(&bounds);
			continue;
		}
		for (int k = 0; k + 1 < t->n_ranges; k++)
			free(t->bounds[k]);
		free(t->bounds);
		t->bounds = NULL;
		t->n_ranges = 1;
		if (!whole && bounds.n > 0) {
			t->bounds = bounds.v;
			t->n_ranges = (int)bounds.n + 1;
			t->range_col = t->st->pk[0];
			bounds.v = NULL;
			bounds.n = 0;
		}
		cf_strv_release(&bounds);
	}
	cf_pgres_free(r);
	return st;
}

cf_status sync_copy_old_items(runner *R, const char *old)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_progress (run_id, item, table_name, range_no, range_lo, "
		"range_hi, state, rows, bytes, duration_s, finished_at) SELECT $1, item, table_name, "
		"range_no, range_lo, range_hi, state, rows, bytes, duration_s, finished_at "
		"FROM confiture.sync_progress WHERE run_id = $2";
	static const char mark[] =
		"UPDATE confiture.sync_history SET outcome = 'resumed' WHERE run_id = $1";
	const char *params[] = {R->run_id, old};
	cf_status st = cf_pg_exec_params(R->dst, sql, 2, params);
	if (!st)
		st = cf_pg_exec_params(R->dst, mark, 1, params + 1);
	return st;
}

cf_status sync_load_done(runner *R, cf_strv *done)
{
	static const char sql[] = "SELECT item, coalesce(rows, 0), coalesce(bytes, 0) "
	                          "FROM confiture.sync_progress WHERE run_id = $1 AND state = 'done'";
	cf_pgres *r = NULL;
	const char *params[] = {R->run_id};
	cf_status st = cf_pg_query(R->dst, sql, 1, params, &r);
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++)
		cf_strv_push(done, cf_pgres_get(r, k, 0));
	cf_pgres_free(r);
	return st;
}

/* Sequences owned by copied columns follow the source's. */

cf_status sync_history_finish(runner *R, cf_status st)
{
	if (!R->history_started)
		return CF_OK;
	static const char sql[] =
		"UPDATE confiture.sync_history SET finished_at = now(), rows = $2, bytes = $3, "
		"duration_s = $4, outcome = $5, error = $6, n_tables = $7, added = $8, updated = $9, "
		"deleted = $10, unchanged = $11 WHERE run_id = $1";
	long long rows = 0, bytes = 0, c[4] = {0};
	bool diff = R->o->incremental;
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		rows += t->rows;
		bytes += t->bytes;
		c[0] += t->added;
		c[1] += t->updated;
		c[2] += t->deleted;
		c[3] += t->unchanged;
	}
	char *r = fmt_ll(rows), *b = fmt_ll(bytes), *n = fmt_ll((long long)R->p->n);
	char *cs[4];
	for (int k = 0; k < 4; k++)
		cs[k] = diff ? fmt_ll(c[k]) : NULL;
	char *d = cf_asprintf("%.3f", cf_now() - R->t0);
	const char *outcome = !st ? "success"
	                      : st == CF_ERR_CANCELLED ? "interrupted"
	                      : st == CF_ERR_CHECK ? "verify_failed"
	                                           : "failed";
	const char *params[] = {R->run_id, r, b, d, outcome, st ? cf_last_error(R->ctx) : NULL, n,
	                        cs[0], cs[1], cs[2], cs[3]};
	/* Runs after a Ctrl-C too: the history must say how the run ended. */
	cf_status hs = cf_pg_exec_always(R->dst, sql, 11, params);
	for (int k = 0; k < 4; k++)
		free(cs[k]);
	free(r);
	free(b);
	free(n);
	free(d);
	return hs;
}

