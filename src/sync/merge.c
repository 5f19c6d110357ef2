/*
 * merge.c -- an incremental table, in one target transaction:
 *
 *   1. the source's rows changed since the last sync (delta.c) are streamed,
 *      masked, into a temporary table;
 *   2. keys that disappeared, counted on both sides alongside step 1 (on
 *      connections of their own for a large table): when the source's
 *      statistics saw no delete, the key sums of both sides may show at once
 *      that none did; else per-bucket key counts and sums of both sides, the
 *      changed rows that are new taken into account, point at the buckets
 *      that differ; one that differs by a single key names it, the others
 *      are compared key by key (the source's keys of those buckets copied
 *      into a second temporary table), and the target's rows whose key the
 *      source no longer has are deleted;
 *   3. changed rows update their key's row, the others are inserted; rows the
 *      target lost on its own (found by step 2) are fetched and inserted too;
 *   4. the table's record says it now holds the source as of this run.
 *
 * Deletes go first, so that a unique value freed by a deleted row can be
 * taken by a new one. Should the merge still hit a unique conflict (two rows
 * swapping a unique value), the transaction is rolled back and the table is
 * copied in full instead. A failure leaves the table as it was.
 */
#include "sync.h"
#include "error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void col_list(cf_pg *pg, const plan_table *t, const char *alias, cf_buf *b)
{
	for (size_t i = 0; i < t->n_cols; i++)
		cf_sql_appendf(pg, b, "%s%s%s%I", i ? ", " : "", alias ? alias : "", alias ? "." : "",
		               t->cols[i].dc->name);
}

/* "A.k1 = B.k1 AND ...": the key match of two aliases. */
static void key_match_as(cf_pg *pg, const plan_table *t, const char *a, const char *b2, cf_buf *b)
{
	for (size_t k = 0; k < t->dt->n_ukey; k++) {
		const char *name = t->dt->cols[t->dt->ukey[k]].name;
		cf_sql_appendf(pg, b, "%s%s.%I = %s.%I", k ? " AND " : "", a, name, b2, name);
	}
}

/* The table (t) and the changed rows (s). */
static void key_match(cf_pg *pg, const plan_table *t, cf_buf *b)
{
	key_match_as(pg, t, "t", "s", b);
}

static bool is_key(const plan_table *t, const col_info *c)
{
	for (size_t k = 0; k < t->dt->n_ukey; k++)
		if (&t->dt->cols[t->dt->ukey[k]] == c)
			return true;
	return false;
}

static cf_status exec_count(cf_pg *pg, const char *sql, long long *n)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, sql, 0, NULL, &r);
	if (!st && n)
		*n = cf_pgres_cmd_tuples(r);
	cf_pgres_free(r);
	return st;
}

/* Streams source rows of T matching EXTRA (an SQL condition) into cf_in. */
static cf_status fetch_rows(worker *w, plan_table *t, const char *extra, const char *key,
                            long long *rows, long long *bytes)
{
	cf_buf cols;
	cf_buf_init(&cols);
	col_list(w->dst, t, NULL, &cols);
	char *in_sql = cf_sql_format(w->dst, "COPY pg_temp.confiture_in (%s) FROM STDIN (FORMAT %s)",
	                             cols.data, t->is_binary ? "binary" : "text");
	char *sel = plan_select_sql(w->src, t, -1, NULL);
	char *out_sql = cf_asprintf("COPY (%s %s (%s)) TO STDOUT (FORMAT %s)", sel,
	                            t->pred ? "AND" : "WHERE", extra, t->is_binary ? "binary" : "text");
	cf_status st = sync_stream(w, t, out_sql, in_sql, 0, key, rows, bytes);
	free(sel);
	free(in_sql);
	free(out_sql);
	cf_buf_release(&cols);
	return st;
}

/* New keys among the changed rows, per bucket, added to ADDED. */
static cf_status new_per_bucket(worker *w, const plan_table *t, const delta_buckets *B,
                                long long *added, uint64_t *sums)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "SELECT ");
	delta_bucket(w->dst, t->dt, "s", B, &b);
	cf_buf_puts(&b, ", count(*)");
	if (sums && B->is_range)
		delta_bucket_sums_sql(w->dst, t->dt, "s", &b);
	cf_sql_appendf(w->dst, &b, " FROM pg_temp.confiture_in s WHERE NOT EXISTS "
	               "(SELECT 1 FROM ONLY %s t WHERE ", t->dt->quoted);
	key_match(w->dst, t, &b);
	cf_buf_puts(&b, ") GROUP BY 1");
	cf_status st = delta_add_counts(w->dst, b.data, B, added, B->is_range ? sums : NULL);
	cf_buf_release(&b);
	return st;
}

/* The source's keys of BUCKETS, copied as they are into confiture_keys (the
 * key's own columns and types, so that joins use them). */
static cf_status copy_keys(worker *w, const plan_table *t, const delta_buckets *B,
                           const char *buckets)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "CREATE TEMP TABLE confiture_keys ON COMMIT DROP AS SELECT ");
	delta_key_cols(w->dst, t->dt, NULL, &b);
	cf_sql_appendf(w->dst, &b, " FROM ONLY %s WITH NO DATA", t->dt->quoted);
	cf_status st = cf_pg_exec(w->dst, b.data);
	cf_buf_reset(&b);
	cf_buf_puts(&b, "COPY pg_temp.confiture_keys FROM STDIN");
	if (!st)
		st = cf_pg_copy_in_start(w->dst, b.data);
	cf_buf_reset(&b);
	cf_buf_puts(&b, "COPY (SELECT ");
	delta_key_cols(w->src, t->st, "t", &b);
	delta_rows_in(w->src, t->st, t->pred, B, buckets, &b);
	cf_buf_puts(&b, ") TO STDOUT");
	if (!st) {
		st = cf_pg_copy_out_start(w->src, b.data);
		if (st)
			cf_pg_copy_in_end(w->dst, "the source failed");
	}
	cf_buf_release(&b);
	char *buf;
	long n;
	while (!st && (n = cf_pg_copy_out_read(w->src, &buf)) != 0) {
		if (n < 0) {
			st = cf_error_code(w->ctx) ? cf_error_code(w->ctx) : CF_ERR_SQL;
			cf_pg_copy_in_end(w->dst, "the source failed");
			return st;
		}
		st = cf_pg_copy_in_put(w->dst, buf, (size_t)n);
		cf_pg_copy_free(buf);
	}
	long long rows = 0;
	if (!st)
		st = cf_pg_copy_in_finish(w->dst, &rows);
	if (!st)
		st = cf_pg_exec(w->dst, "ANALYZE pg_temp.confiture_keys");
	return st;
}

/* The target's keys of BUCKETS (alias t), as an SQL subquery. */
static void target_keys(cf_pg *pg, const plan_table *t, const delta_buckets *B,
                        const char *buckets, cf_buf *b)
{
	cf_buf_puts(b, "SELECT ");
	delta_key_cols(pg, t->dt, "t", b);
	delta_rows_in(pg, t->dt, NULL, B, buckets, b);
}

/* Deletes the target's rows of BUCKETS whose key the source no longer has;
 * lists (as an SQL array literal of key texts) the source's keys the target
 * lacks that are not among the changed rows. One pass over the target's keys
 * of those buckets (a full join with the source's) sets both kinds apart
 * into a small analyzed table, so that the delete goes through the key's
 * index. */
static cf_status drop_gone(worker *w, plan_table *t, const delta_buckets *B, const char *buckets,
                           long long *deleted, char **missing)
{
	cf_pg *dst = w->dst;
	const table_info *ti = t->dt;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "CREATE TEMP TABLE confiture_kdiff ON COMMIT DROP AS SELECT ");
	for (size_t k = 0; k < ti->n_ukey; k++) {
		const char *name = ti->cols[ti->ukey[k]].name;
		cf_sql_appendf(dst, &b, "%scoalesce(d.%I, s.%I) AS %I", k ? ", " : "", name, name, name);
	}
	cf_sql_appendf(dst, &b, ", s.%I IS NULL AS gone FROM (", ti->cols[ti->ukey[0]].name);
	target_keys(dst, t, B, buckets, &b);
	cf_buf_puts(&b, ") d FULL JOIN pg_temp.confiture_keys s ON ");
	key_match_as(dst, t, "d", "s", &b);
	cf_sql_appendf(dst, &b, " WHERE d.%I IS NULL OR s.%I IS NULL", ti->cols[ti->ukey[0]].name,
	               ti->cols[ti->ukey[0]].name);
	cf_status st = cf_pg_exec(dst, b.data);
	if (!st)
		st = cf_pg_exec(dst, "ANALYZE pg_temp.confiture_kdiff");
	cf_buf_reset(&b);
	cf_sql_appendf(dst, &b, "DELETE FROM ONLY %s t USING pg_temp.confiture_kdiff s WHERE s.gone "
	               "AND ", ti->quoted);
	key_match(dst, t, &b);
	if (!st)
		st = exec_count(dst, b.data, deleted);
	cf_buf_reset(&b);
	cf_buf_puts(&b, "SELECT array_agg(");
	delta_key_text(dst, ti, "k", &b);
	cf_buf_puts(&b, ")::text FROM (SELECT ");
	delta_key_cols(dst, ti, NULL, &b);
	cf_buf_puts(&b, " FROM pg_temp.confiture_kdiff WHERE NOT gone EXCEPT SELECT ");
	delta_key_cols(dst, ti, NULL, &b);
	cf_buf_puts(&b, " FROM pg_temp.confiture_in) k");
	if (!st)
		st = cf_pg_query_value(dst, b.data, 0, NULL, missing);
	cf_buf_release(&b);
	return st;
}

/* Step 2: the buckets whose keys must be compared (as an SQL array literal,
 * or NULL), their source keys copied into confiture_keys; the keys found
 * gone or missing without that (decode_single); the source's rows. SIDES
 * were started by the caller (key sums when IS_SUMS, else bucket counts into
 * C over B) and run still. Equal key sums on both sides (tried when the
 * source's statistics saw no delete since the last sync) skip the buckets
 * altogether. */
static cf_status gone_buckets(worker *w, plan_table *t, side *sides, bool is_sums,
                              delta_buckets *B, cells *c, char **buckets, char **gone,
                              char **missing, long long *src_rows)
{
	*buckets = *gone = *missing = NULL;
	cf_status st = sides_wait(sides);
	if (!st && is_sums) {
		char *added = NULL;
		st = delta_key_sums(w->dst, t, KEYS_NEW, &added);
		bool same = !st && delta_sums_add(&sides[1].sums, added) &&
		            strcmp(sides[0].sums, sides[1].sums) == 0;
		free(added);
		if (same)
			*src_rows = atoll(sides[0].sums);
		if (st || same)
			return st;
		/* Some key went after all: the buckets. */
		st = delta_buckets_plan(w->src, t, B);
		if (st)
			return st;
		cells_init(c, B->n);
		sides_start(sides, B, c);
		st = sides_wait(sides);
	}
	if (!st)
		st = new_per_bucket(w, t, B, c->diff, c->dsum);
	*src_rows = 0;
	for (int k = 0; k < c->n; k++) {
		c->diff[k] -= c->src[k];
		c->dsum[2 * k] -= c->ssum[2 * k];
		c->dsum[2 * k + 1] -= c->ssum[2 * k + 1];
		*src_rows += c->src[k];
	}
	if (!st)
		st = sides_decode_single(w, B, c, gone, missing);
	if (!st)
		*buckets = delta_bucket_list(c->diff, c->n);
	if (*buckets)
		st = copy_keys(w, t, B, *buckets);
	return st;
}

/* Deletes the target's rows whose key is in GONE (a bigint[] literal). */
static cf_status delete_keys(worker *w, const plan_table *t, const char *gone, long long *n)
{
	char *sql = cf_sql_format(w->dst, "DELETE FROM ONLY %s WHERE %I = ANY($1::bigint[])",
	                          t->dt->quoted, t->dt->cols[t->dt->ukey[0]].name);
	const char *params[] = {gone};
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(w->dst, sql, 1, params, &r);
	if (!st)
		*n = cf_pgres_cmd_tuples(r);
	cf_pgres_free(r);
	free(sql);
	return st;
}

/* "{a,b}" and "{c}" into "{a,b,c}" (either may be NULL); frees both. */
static char *join_lists(char *a, char *b)
{
	if (!a || !b)
		return a ? a : b;
	a[strlen(a) - 1] = '\0';
	char *j = cf_asprintf("%s,%s", a, b + 1);
	free(a);
	free(b);
	return j;
}

/* Step 3: changed rows update or insert. */
static cf_status upsert(worker *w, plan_table *t, long long *updated, long long *added)
{
	cf_pg *dst = w->dst;
	cf_buf b;
	cf_buf_init(&b);
	/* Key columns stay as they are: the update can then stay on its page
	 * (HOT) without touching the key's index. */
	cf_sql_appendf(dst, &b, "UPDATE ONLY %s t SET ", t->dt->quoted);
	size_t n = 0;
	for (size_t i = 0; i < t->n_cols; i++) {
		const col_info *c = t->cols[i].dc;
		if (is_key(t, c))
			continue;
		cf_sql_appendf(dst, &b, "%s%I = s.%I", n++ ? ", " : "", c->name, c->name);
	}
	if (!n) /* every column is the key: a row can only come or go */
		cf_sql_appendf(dst, &b, "%I = s.%I", t->dt->cols[t->dt->ukey[0]].name,
		               t->dt->cols[t->dt->ukey[0]].name);
	cf_buf_puts(&b, " FROM pg_temp.confiture_in s WHERE ");
	key_match(dst, t, &b);
	cf_status st = exec_count(dst, b.data, updated);
	cf_buf_reset(&b);
	cf_sql_appendf(dst, &b, "INSERT INTO %s (", t->dt->quoted);
	col_list(dst, t, NULL, &b);
	cf_buf_puts(&b, ") SELECT ");
	col_list(dst, t, "s", &b);
	cf_sql_appendf(dst, &b, " FROM pg_temp.confiture_in s WHERE NOT EXISTS (SELECT 1 FROM ONLY %s "
	               "t WHERE ", t->dt->quoted);
	key_match(dst, t, &b);
	cf_buf_putc(&b, ')');
	if (!st)
		st = exec_count(dst, b.data, added);
	cf_buf_release(&b);
	return st;
}

/* Rows the target lost on its own: fetched by key and inserted. */
static cf_status restore_missing(worker *w, plan_table *t, const char *missing, const char *key,
                                 long long *added, long long *bytes)
{
	cf_status st = cf_pg_exec(w->dst, "TRUNCATE pg_temp.confiture_in");
	cf_buf cond;
	cf_buf_init(&cond);
	delta_key_text(w->src, t->st, NULL, &cond);
	cf_sql_appendf(w->src, &cond, " = ANY(%L::text[])", missing);
	long long rows = 0, n = 0;
	if (!st)
		st = fetch_rows(w, t, cond.data, key, &rows, bytes);
	cf_buf_release(&cond);
	long long dummy = 0;
	if (!st)
		st = upsert(w, t, &dummy, &n);
	*added += n;
	return st;
}

static const char SQL_DONE[] =
	"UPDATE confiture.sync_progress SET state = 'done', rows = $3, bytes = $4, duration_s = $5, "
	"added = $6, updated = $7, deleted = $8, finished_at = now() WHERE run_id = $1 AND item = $2";

static cf_status record_done(worker *w, plan_table *t, const char *key, long long bytes,
                             double dur)
{
	char v[6][32];
	snprintf(v[0], 32, "%lld", t->added + t->updated);
	snprintf(v[1], 32, "%lld", bytes);
	snprintf(v[2], 32, "%.6f", dur);
	snprintf(v[3], 32, "%lld", t->added);
	snprintf(v[4], 32, "%lld", t->updated);
	snprintf(v[5], 32, "%lld", t->deleted);
	const char *params[] = {w->R->run_id, key, v[0], v[1], v[2], v[3], v[4], v[5]};
	cf_status st = cf_pg_exec_params(w->dst, SQL_DONE, 8, params);
	if (!st)
		st = delta_state_save(w->R, w->dst, t, true);
	return st;
}

/* The whole merge, in the caller's transaction. */
static cf_status merge(worker *w, plan_table *t, const char *key, long long *bytes,
                       const char **full_why)
{
	runner *R = w->R;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "CREATE TEMP TABLE confiture_in ON COMMIT DROP AS SELECT ");
	col_list(w->dst, t, NULL, &b);
	cf_sql_appendf(w->dst, &b, " FROM ONLY %s WITH NO DATA", t->dt->quoted);
	/* Sorts and hashes of key sets stay in memory. */
	cf_status st = cf_pg_exec(w->dst, "SET LOCAL work_mem = '64MB'");
	if (!st)
		st = cf_pg_exec(w->dst, b.data);
	cf_buf_release(&b);
	long long changed = 0, src_rows = 0;
	char *missing = NULL, *buckets = NULL, *gone = NULL, *found = NULL;
	delta_buckets B = {0};
	cells c = {0};
	cf_prog_item_phase(R->prog, t->st->qname, "diffing");
	/* When the source's statistics count deletes since the last sync, the
	 * key sums would only be a scan more: straight to the buckets. Only
	 * integer keys have sums. */
	const col_info *kc = &t->st->cols[t->st->ukey[0]];
	bool is_sums = t->no_deletes_seen && t->st->n_ukey == 1 &&
	               (kc->vt == VT_INT2 || kc->vt == VT_INT4 || kc->vt == VT_INT8);
	side sides[2] = {0};
	if (!st)
		sides_open(sides, w, t);
	if (!st && !is_sums)
		st = sides_start_buckets(sides, &B, &c);
	else if (!st)
		sides_start(sides, NULL, NULL);
	if (!st)
		st = fetch_rows(w, t, t->changed_pred, key, &changed, bytes);
	/* A few changed rows are matched one by one through the key's index;
	 * the planner, seeing a small table against a large one, could still
	 * pick a scan of the whole table for the joins below. Those joins then
	 * need no statistics of the changed rows (the planner sizes a table
	 * never analyzed by its pages): no ANALYZE, which cost 40-70 ms. */
	if (!st && changed * 10 < t->est_rows)
		st = cf_pg_exec(w->dst, "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off");
	else if (!st)
		st = cf_pg_exec(w->dst, "ANALYZE pg_temp.confiture_in");
	if (!st)
		st = gone_buckets(w, t, sides, is_sums, &B, &c, &buckets, &gone, &found, &src_rows);
	/* Rows written in the target since the last sync (found by the target's
	 * side): taken from the source again, unless already among the changed. */
	char *edits = sides[1].edits;
	sides[1].edits = NULL;
	*full_why = st ? NULL : sides[1].edits_why;
	if (!st && edits && !*full_why) {
		char *pred = delta_edits_pred(w->src, t, edits, false);
		long long n_edits = 0;
		st = fetch_rows(w, t, pred, key, &n_edits, bytes);
		changed += n_edits;
		free(pred);
	}
	free(edits);
	sides_close(sides);
	if (*full_why) { /* the caller copies the table in full instead */
		cells_release(&c);
		delta_buckets_release(&B);
		free(buckets);
		free(gone);
		free(found);
		return CF_OK;
	}
	cells_release(&c);
	cf_prog_item_phase(R->prog, t->st->qname, "merging");
	/* The old rows are kept only for a table that changes. */
	if (!st && (changed || buckets || gone || found))
		st = sync_backup_table(R, w->dst, t);
	long long n = 0;
	if (!st && gone)
		st = delete_keys(w, t, gone, &t->deleted);
	if (!st && buckets)
		st = drop_gone(w, t, &B, buckets, &n, &missing);
	t->deleted += n;
	missing = join_lists(missing, found);
	free(gone);
	free(buckets);
	delta_buckets_release(&B);
	if (!st)
		st = upsert(w, t, &t->updated, &t->added);
	if (!st && missing)
		st = restore_missing(w, t, missing, key, &t->added, bytes);
	free(missing);
	t->unchanged = src_rows - t->added - t->updated;
	t->has_diff = !st;
	return st;
}

static bool is_unique_conflict(worker *w)
{
	const char *s = cf_error_sqlstate_get(w->ctx);
	return s && strcmp(s, "23505") == 0;
}

/* The merge gave up on T for WHY (its transaction rolled back): the table
 * is copied in full instead, and says why. Takes KEY. */
static cf_status copy_instead(worker *w, work_item *it, char *key, const char *why)
{
	plan_table *t = it->t;
	cf_log_info(w->R->ctx, "\"%s\": %s; copying it in full", t->st->qname, why);
	free(t->mode_reason);
	t->mode_reason = cf_strdup(why);
	t->mode = TM_FULL;
	free(key);
	return copy_item(w, it);
}

cf_status merge_item(worker *w, work_item *it)
{
	runner *R = w->R;
	plan_table *t = it->t;
	double t0 = cf_now();
	char *key = plan_item_key(t, -1);
	long long bytes = 0;
	t->added = t->updated = t->deleted = t->unchanged = 0;
	cf_prog_item_begin(R->prog, t->st->qname, t->est_rows);
	cf_status st = sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_OUTSIDE, t, w->dst, -1,
	                                    -1, -1);
	if (!st)
		st = cf_pg_begin(w->dst);
	if (!st)
		st = sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_SQL, t, w->dst, -1, -1, -1);
	const char *full_why = NULL;
	if (!st)
		st = merge(w, t, key, &bytes, &full_why);
	if (!st && full_why) { /* too many rows written in the target since */
		cf_pg_rollback(w->dst);
		return copy_instead(w, it, key, full_why);
	}
	double dur = cf_now() - t0;
	if (!st)
		st = record_done(w, t, key, bytes, dur);
	if (!st)
		st = sync_fire_table_hook(R, "after_sync_table", CF_HOOKS_SQL, t, w->dst,
		                          t->added + t->updated + t->deleted, 1, (long long)(dur * 1000));
	if (!st)
		st = cf_pg_commit(w->dst);
	if (st) {
		cf_pg_rollback(w->dst);
		t->has_diff = false;
		if (is_unique_conflict(w) && !cf_pg_is_bad(w->dst)) {
			/* Two rows traded a unique value: the whole table goes instead. */
			cf_ctx_clear_error(w->ctx);
			return copy_instead(w, it, key, "a unique value moved between rows during the merge");
		}
		cf_prog_item_end(R->prog, t->st->qname, false,
		                 atomic_load(&R->stop) ? "stopped: another table failed"
		                                       : cf_last_error(w->ctx));
		cf_error_context(w->ctx, "while merging \"%s\" (its target transaction was rolled back)",
		                 key);
		free(key);
		return st;
	}
	free(key);
	/* Statistics move with a tenth of the rows (autovacuum's own threshold):
	 * below that, the target's planner is still warm. */
	long long moved = t->added + t->updated + t->deleted;
	return sync_item_finished(w, it, t->added + t->updated, bytes, dur,
	                          moved > 0 && moved * 10 >= t->unchanged + t->added + t->updated);
}
