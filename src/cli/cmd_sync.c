/* cmd_sync.c -- confiture sync, confiture sync history */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- Rendering ----------------------------------------------------------------------- */

static void human_bytes(char *out, size_t n, long long b)
{
	if (b >= 1024LL * 1024 * 1024)
		snprintf(out, n, "%.1f GB", (double)b / (1024.0 * 1024 * 1024));
	else if (b >= 1024 * 1024)
		snprintf(out, n, "%.1f MB", (double)b / (1024.0 * 1024));
	else if (b >= 1024)
		snprintf(out, n, "%.1f kB", (double)b / 1024.0);
	else
		snprintf(out, n, "%lld B", b);
}

static void print_masked(const cf_sync_table *t)
{
	if (t->n_masked) {
		printf("  masked: ");
		for (size_t k = 0; k < t->n_masked; k++)
			printf("%s%s", k ? ", " : "", t->masked[k]);
	}
	if (t->n_kept) {
		printf("  kept: ");
		for (size_t k = 0; k < t->n_kept; k++) {
			const char *colon = strchr(t->kept[k], ':');
			printf("%s%.*s", k ? ", " : "", (int)(colon - t->kept[k]), t->kept[k]);
		}
	}
}

/* "anonymized", or what --allow-unmasked let through. */
static void anon_label(const cf_sync_result *r, char *out, size_t n)
{
	if (!r->is_anonymized)
		snprintf(out, n, "verbatim");
	else if (r->n_unmasked)
		snprintf(out, n, "anonymized, %zu column%s left unmasked by --allow-unmasked",
		         r->n_unmasked, r->n_unmasked == 1 ? "" : "s");
	else
		snprintf(out, n, "anonymized");
}

static void print_issues(const cf_sync_result *r, const char *kind_prefix, const char *title)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_issues; i++)
		if (strncmp(r->issues[i].kind, kind_prefix, strlen(kind_prefix)) == 0)
			n++;
	if (!n)
		return;
	printf("%s:\n", title);
	for (size_t i = 0; i < r->n_issues; i++)
		if (strncmp(r->issues[i].kind, kind_prefix, strlen(kind_prefix)) == 0)
			printf("  %s\n", r->issues[i].message);
}

/* A dry run's diff of one table. */
static void diff_text(const cf_sync_result *r, const cf_sync_table *t)
{
	printf("      source %lld rows, target %lld rows: ", t->src_count, t->dst_count);
	if (!t->has_diff)
		printf("a sync copies it in full (%s)\n", t->mode_reason ? t->mode_reason
		                                                        : "masked, or no key to compare by");
	else if (t->is_in_line)
		printf("in line\n");
	else if (strcmp(t->mode, "full") == 0 && r->is_incremental)
		printf("copied in full (%s): +%lld -%lld\n", t->mode_reason, t->added, t->deleted);
	else
		printf("+%lld added, ~%lld updated, -%lld deleted, =%lld unchanged\n", t->added,
		       t->updated, t->deleted, t->unchanged);
}

static void plan_text(const cf_sync_result *r)
{
	char label[96];
	anon_label(r, label, sizeof(label));
	printf("plan: %zu table%s from %s into %s (%s)\n", r->n_tables, r->n_tables == 1 ? "" : "s",
	       r->source, r->target, label);
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_sync_table *t = &r->tables[i];
		printf("  %2zu. %-32s ~%lld rows  %s", i + 1, t->name, t->est_rows, t->format);
		if (t->n_ranges > 1)
			printf("  %d ranges", t->n_ranges);
		print_masked(t);
		printf("\n");
		if (t->is_subset)
			printf("      subset: %s\n", t->where);
		if (t->src_count >= 0 && (t->src_count || t->dst_count || t->has_diff))
			diff_text(r, t);
	}
	print_issues(r, "pii", "columns that look like personal data");
}

static void result_text(cli *c, const cf_sync_result *r)
{
	if (r->is_dry_run) {
		plan_text(r);
		return;
	}
	if (r->is_nothing_to_resume) {
		printf("%s\n", r->message);
		return;
	}
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_sync_table *t = &r->tables[i];
		char b[32];
		human_bytes(b, sizeof(b), t->bytes);
		if (t->is_skipped) {
			printf("  %-32s done by the interrupted run\n", t->name);
			continue;
		}
		if (t->is_failed) {
			printf("  %-32s FAILED%s, kept its old contents: %s\n", t->name,
			       t->retries ? " after retries" : "", t->error);
			continue;
		}
		if (r->is_incremental && t->has_diff && strcmp(t->mode, "incremental") == 0) {
			printf("  %-32s +%lld ~%lld -%lld =%lld  %8.2f s  incremental", t->name, t->added,
			       t->updated, t->deleted, t->unchanged, t->duration_s);
			print_masked(t);
			printf("\n");
			continue;
		}
		printf("  %-32s %10lld rows %10s %8.2f s  %s", t->name, t->rows, b, t->duration_s,
		       t->format);
		if (r->is_incremental && t->mode_reason)
			printf(", in full: %s", t->mode_reason);
		if (t->n_ranges > 1)
			printf(", %d ranges", t->n_ranges);
		if (t->is_subset)
			printf(", subset");
		if (t->retries)
			printf(", %d retr%s", t->retries, t->retries == 1 ? "y" : "ies");
		print_masked(t);
		printf("\n");
	}
	print_issues(r, "row_count", "verify");
	print_issues(r, "checksum", "verify");
	print_issues(r, "masked", "verify");
	print_issues(r, "fk_", "verify");
	if (r->success) {
		char b[32], label[96];
		human_bytes(b, sizeof(b), r->bytes);
		anon_label(r, label, sizeof(label));
		printf("%ssynced %ld table%s, %lld rows, %s in %.2f s (%s)%s%s\n", cli_color(c, "ok"),
		       r->n_copied, r->n_copied == 1 ? "" : "s", r->rows, b, r->duration_s, label,
		       r->is_verified ? ", verified" : "", cli_color(c, "reset"));
		if (r->backup_location)
			printf("backup of the overwritten tables: %s\n", r->backup_location);
		if (r->is_incremental)
			printf("incremental: %lld added, %lld updated, %lld deleted, %lld unchanged, %lld "
			       "failed\n", r->added, r->updated, r->deleted, r->unchanged, r->failed_rows);
		if (r->n_skipped)
			printf("%ld table%s already done by run %s\n", r->n_skipped,
			       r->n_skipped == 1 ? " was" : "s were", r->resumed_from);
	}
}

/* "backup": {kind, location, present}, or null. */
static void backup_json(cf_json *j, const char *kind, const char *location, bool present)
{
	cf_json_key(j, "backup");
	if (!kind) {
		cf_json_null(j);
		return;
	}
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "kind", kind);
	cf_json_kv_str(j, "location", location);
	cf_json_kv_bool(j, "present", present);
	cf_json_obj_end(j);
}

/* "counts": {added, updated, deleted, unchanged, failed}, or null. */
static void diff_json(cf_json *j, bool known, long long added, long long updated,
                      long long deleted, long long unchanged, long long failed)
{
	cf_json_key(j, "counts");
	if (!known) {
		cf_json_null(j);
		return;
	}
	cf_json_obj_begin(j);
	cf_json_kv_int(j, "added", added);
	cf_json_kv_int(j, "updated", updated);
	cf_json_kv_int(j, "deleted", deleted);
	cf_json_kv_int(j, "unchanged", unchanged);
	cf_json_kv_int(j, "failed", failed);
	cf_json_obj_end(j);
}

static void result_json(cli *c, const cf_sync_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	if (!c->target_url && r->target)
		cli_set_target(c, r->target, NULL, false);
	cli_json_begin(c, &j, &b, st == CF_OK);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_str(&j, "run_id", r->run_id);
	cf_json_kv_str(&j, "resumed_from", r->resumed_from);
	cf_json_kv_str(&j, "source", r->source);
	cf_json_kv_bool(&j, "anonymized", r->is_anonymized);
	cf_json_kv_strs(&j, "unmasked", r->unmasked, r->n_unmasked);
	cf_json_kv_bool(&j, "dry_run", r->is_dry_run);
	cf_json_kv_bool(&j, "verified", r->is_verified);
	cf_json_kv_int(&j, "tables_copied", r->n_copied);
	cf_json_kv_int(&j, "tables_skipped", r->n_skipped);
	cf_json_kv_int(&j, "tables_failed", r->n_failed);
	cf_json_kv_str(&j, "mode", r->is_incremental ? "incremental" : "full");
	backup_json(&j, r->backup_kind, r->backup_location, r->backup_kind != NULL);
	diff_json(&j, r->is_incremental || r->is_dry_run, r->added, r->updated, r->deleted,
	          r->unchanged, r->failed_rows);
	cf_json_kv_int(&j, "total_rows", r->rows);
	cf_json_kv_int(&j, "total_bytes", r->bytes);
	cf_json_key(&j, "order");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_tables; i++)
		cf_json_str(&j, r->tables[i].name);
	cf_json_arr_end(&j);
	cf_json_key(&j, "tables");
	cf_json_obj_begin(&j);
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_sync_table *t = &r->tables[i];
		cf_json_key(&j, t->name);
		cf_json_obj_begin(&j);
		cf_json_kv_int(&j, "rows", t->rows);
		cf_json_kv_int(&j, "bytes", t->bytes);
		cf_json_kv_num(&j, "duration_s", t->duration_s);
		cf_json_kv_num(&j, "rows_per_s", t->duration_s > 0 ? (double)t->rows / t->duration_s : 0);
		cf_json_kv_int(&j, "est_rows", t->est_rows);
		cf_json_kv_str(&j, "format", t->format);
		cf_json_kv_int(&j, "ranges", t->n_ranges);
		cf_json_kv_bool(&j, "skipped", t->is_skipped);
		cf_json_kv_bool(&j, "failed", t->is_failed);
		cf_json_kv_str(&j, "error", t->error);
		cf_json_kv_int(&j, "retries", t->retries);
		cf_json_kv_str(&j, "mode", t->mode);
		cf_json_kv_str(&j, "mode_reason", t->mode_reason);
		if (r->is_dry_run) {
			cf_json_kv_int(&j, "source_rows", t->src_count);
			cf_json_kv_int(&j, "target_rows", t->dst_count);
			cf_json_kv_bool(&j, "in_line", t->is_in_line);
		}
		diff_json(&j, t->has_diff, t->added, t->updated, t->deleted, t->unchanged, t->failed_rows);
		cf_json_kv_bool(&j, "subset", t->is_subset);
		cf_json_kv_str(&j, "where", t->where);
		cf_json_key(&j, "masked");
		cf_json_obj_begin(&j);
		for (size_t k = 0; k < t->n_masked; k++) {
			const char *colon = strchr(t->masked[k], ':');
			char *col = cf_strndup(t->masked[k], (size_t)(colon - t->masked[k]));
			cf_json_kv_str(&j, col, colon + 2);
			free(col);
		}
		cf_json_obj_end(&j);
		cf_json_key(&j, "kept");
		cf_json_obj_begin(&j);
		for (size_t k = 0; k < t->n_kept; k++) {
			const char *colon = strchr(t->kept[k], ':');
			char *col = cf_strndup(t->kept[k], (size_t)(colon - t->kept[k]));
			cf_json_kv_str(&j, col, colon + 2);
			free(col);
		}
		cf_json_obj_end(&j);
		cf_json_key(&j, "verified");
		if (t->verified < 0)
			cf_json_null(&j);
		else
			cf_json_bool(&j, t->verified == 1);
		cf_json_obj_end(&j);
	}
	cf_json_obj_end(&j);
	cf_json_key(&j, "issues");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_issues; i++) {
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "kind", r->issues[i].kind);
		cf_json_kv_str(&j, "table", r->issues[i].table);
		cf_json_kv_str(&j, "column", r->issues[i].column);
		cf_json_kv_str(&j, "message", r->issues[i].message);
		cf_json_kv_str(&j, "suggestion", r->issues[i].suggestion);
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	cli_json_warnings(&j, r->warnings, r->n_warnings);
	cli_json_end(c, &j, &b);
}

/* ---- history --------------------------------------------------------------------------- */

static const struct option HISTORY_OPTIONS[] = {
	{"to", required_argument, 0, 't'},
	{"limit", required_argument, 0, 'n'},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0}};
const cli_opts cli_sync_history_opts = {"ht:n:", HISTORY_OPTIONS};

static cf_status cmd_sync_history(cli *c, int argc, char **argv)
{
	const char *target = NULL;
	long limit = 20;
	int ch;
	c->action = "history";
	optind = 0;
	const char *so = cli_sync_history_opts.shortopts;
	while ((ch = cli_getopt(c, argc, argv, so, HISTORY_OPTIONS)) != -1) {
		if (ch == 'h')
			return cli_help(c);
		if (ch == 't')
			target = optarg;
		else if (ch == 'n') {
			cf_status st = cli_parse_long(c, "--limit", optarg, &limit);
			if (st)
				return st;
		} else
			return CF_ERR_USAGE;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	cf_status st = cli_load(c);
	if (st)
		return st;
	cf_sync_history *h = NULL;
	st = cf_sync_history_list(c->ctx, target, limit, &h);
	if (c->format == CLI_JSON && !st) {
		cf_buf b;
		cf_json j;
		if (!c->target_url)
			cli_set_target(c, h->target, NULL, false);
		cli_json_begin(c, &j, &b, true);
		cf_json_key(&j, "runs");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < h->n_runs; i++) {
			const cf_sync_run *r = &h->runs[i];
			cf_json_obj_begin(&j);
			cf_json_kv_str(&j, "run_id", r->run_id);
			cf_json_kv_str(&j, "started_at", r->started_at);
			cf_json_kv_str(&j, "finished_at", r->finished_at);
			cf_json_kv_str(&j, "run_by", r->run_by);
			cf_json_kv_str(&j, "source", r->source);
			cf_json_kv_str(&j, "outcome", r->outcome);
			cf_json_kv_str(&j, "error", r->error);
			cf_json_kv_str(&j, "resumed_from", r->resumed_from);
			cf_json_kv_strs(&j, "tables", r->tables, r->n_tables);
			cf_json_kv_int(&j, "rows", r->rows);
			cf_json_kv_int(&j, "bytes", r->bytes);
			cf_json_kv_num(&j, "duration_s", r->duration_s);
			cf_json_kv_bool(&j, "anonymized", r->is_anonymized);
			cf_json_kv_str(&j, "mode", r->mode);
			diff_json(&j, r->has_counts, r->added, r->updated, r->deleted, r->unchanged, 0);
			backup_json(&j, r->backup_kind, r->backup_location, r->is_backup_present);
			cf_json_obj_end(&j);
		}
		cf_json_arr_end(&j);
		cli_json_end(c, &j, &b);
	} else if (!st) {
		if (h->n_runs == 0)
			printf("no sync has been recorded in %s\n", h->target);
		else
			printf("%-36s  %-20s  %-13s  %6s  %10s  %9s  %s\n", "run", "started (UTC)", "outcome",
			       "tables", "rows", "duration", "source / by");
		for (size_t i = 0; i < h->n_runs; i++) {
			const cf_sync_run *r = &h->runs[i];
			printf("%-36s  %-20s  %-13s  %6zu  %10lld  %8.2fs  %s (%s%s%s)\n", r->run_id,
			       r->started_at, r->outcome, r->n_tables, r->rows, r->duration_s, r->source,
			       r->run_by, r->is_anonymized ? ", anonymized" : "",
			       r->mode && strcmp(r->mode, "full") != 0 ? (strcmp(r->mode, "restore") == 0
			                                                        ? ", restore"
			                                                        : ", incremental")
			                                              : "");
			if (r->backup_kind)
				printf("%-36s  backup: %s%s\n", "", r->backup_location,
				       r->is_backup_present ? "" : " (pruned)");
		}
	}
	cf_sync_history_free(h);
	return st;
}

/* ---- sync ------------------------------------------------------------------------------- */

/* Comma-separated globs; an empty one (--tables "", "a,,b") would silently
 * mean "every table", so it is a usage error. */
static cf_status parse_globs(cli *c, const char *opt, const char *arg, cf_strv *out)
{
	const char *p = arg;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (strspn(p, " \t") >= n)
			return cli_usage(c, "option \"%s\" has an empty table pattern; give globs such as "
			                    "\"users,sales.*\", or leave the option out", opt);
		if (!end)
			break;
		p = end + 1;
	}
	cf_strv_split(out, arg, ',');
	return CF_OK;
}

typedef struct sync_args {
	cf_sync_opts o;
	cf_strv tables, exclude;
} sync_args;

enum { O_ANON = 1000, O_RULES, O_TABLES, O_EXCLUDE, O_JOBS, O_DRY, O_RESUME, O_VERIFY,
       O_RANDOM, O_SPLIT, O_SAMPLE, O_UNMASKED, O_CONTINUE, O_NO_ANALYZE, O_INCREMENTAL,
       O_BACKUP, O_BACKUP_DIR };
static const struct option OPTIONS[] = {
	{"from", required_argument, 0, 'F'},     {"to", required_argument, 0, 'T'},
	{"anonymize", no_argument, 0, O_ANON},   {"rules", required_argument, 0, O_RULES},
	{"anonymization-config", required_argument, 0, O_RULES}, /* the precursor's name */
	{"tables", required_argument, 0, O_TABLES}, {"exclude", required_argument, 0, O_EXCLUDE},
	{"jobs", required_argument, 0, O_JOBS},  {"dry-run", no_argument, 0, O_DRY},
	{"resume", no_argument, 0, O_RESUME},    {"verify", no_argument, 0, O_VERIFY},
	{"allow-random", no_argument, 0, O_RANDOM}, {"split-rows", required_argument, 0, O_SPLIT},
	{"verify-sample", required_argument, 0, O_SAMPLE},
	{"allow-unmasked", no_argument, 0, O_UNMASKED},
	{"continue-on-error", no_argument, 0, O_CONTINUE},
	{"no-analyze", no_argument, 0, O_NO_ANALYZE},
	{"incremental", no_argument, 0, O_INCREMENTAL},
	{"backup", no_argument, 0, O_BACKUP},
	{"backup-dir", required_argument, 0, O_BACKUP_DIR},
	{"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
const cli_opts cli_sync_opts = {"hj:", OPTIONS};

static const struct option RESTORE_OPTIONS[] = {
	{"to", required_argument, 0, 't'},
	{"run", required_argument, 0, 'r'},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0}};
static const cli_opts restore_opts = {"ht:r:", RESTORE_OPTIONS};
static const struct option BACKUPS_OPTIONS[] = {
	{"to", required_argument, 0, 't'},
	{"keep", required_argument, 0, 'k'},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0}};
static const cli_opts backups_opts = {"ht:k:", BACKUPS_OPTIONS};

const cli_action cli_sync_actions[] = {
	{"history", NULL, CLI_V_NONE, 0, &cli_sync_history_opts},
	{"restore", NULL, CLI_V_NONE, 0, &restore_opts},
	{"backups", NULL, CLI_V_NONE, 0, &backups_opts},
	{0},
};

/* ---- restore ------------------------------------------------------------------------------ */

static cf_status cmd_sync_restore(cli *c, int argc, char **argv)
{
	const char *target = NULL, *run_id = NULL;
	int ch;
	c->action = "restore";
	optind = 0;
	while ((ch = cli_getopt(c, argc, argv, restore_opts.shortopts, RESTORE_OPTIONS)) != -1) {
		if (ch == 'h')
			return cli_help(c);
		if (ch == 't')
			target = optarg;
		else if (ch == 'r')
			run_id = optarg;
		else
			return CF_ERR_USAGE;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (!target || !run_id)
		return cli_usage(c, "sync restore needs --to ENV|URL and --run RUN_ID");
	cf_status st = cli_load(c);
	if (st)
		return st;
	cf_sync_result *r = NULL;
	st = cf_sync_restore(c->ctx, target, run_id, &r);
	if (cli_wants_json(c)) {
		if (!c->target_url && r->target)
			cli_set_target(c, r->target, NULL, false);
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, st == CF_OK);
		cf_json_kv_str(&j, "message", r->message);
		cf_json_kv_str(&j, "run_id", r->run_id);
		cf_json_kv_str(&j, "restored_from", r->restored_from);
		cf_json_kv_int(&j, "total_rows", r->rows);
		cf_json_key(&j, "tables");
		cf_json_obj_begin(&j);
		for (size_t i = 0; i < r->n_tables; i++) {
			cf_json_key(&j, r->tables[i].name);
			cf_json_obj_begin(&j);
			cf_json_kv_int(&j, "rows", r->tables[i].rows);
			cf_json_kv_num(&j, "duration_s", r->tables[i].duration_s);
			cf_json_obj_end(&j);
		}
		cf_json_obj_end(&j);
		cli_json_end(c, &j, &b);
	}
	if (c->format != CLI_JSON && !st) {
		for (size_t i = 0; i < r->n_tables; i++)
			printf("  %-32s %10lld rows %8.2f s\n", r->tables[i].name, r->tables[i].rows,
			       r->tables[i].duration_s);
		printf("%s%s%s\n", cli_color(c, "ok"), r->message, cli_color(c, "reset"));
	}
	cf_sync_result_free(r);
	return st;
}

/* ---- backups ------------------------------------------------------------------------------ */

static void backups_out(cli *c, const cf_sync_backups *b, bool prune)
{
	if (cli_wants_json(c)) {
		if (!c->target_url && b->target)
			cli_set_target(c, b->target, NULL, false);
		cf_buf buf;
		cf_json j;
		cli_json_begin(c, &j, &buf, true);
		cf_json_kv_int(&j, "removed", (long long)b->n_removed);
		cf_json_key(&j, "backups");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < b->n_backups; i++) {
			const cf_sync_backup *k = &b->backups[i];
			cf_json_obj_begin(&j);
			cf_json_kv_str(&j, "run_id", k->run_id);
			cf_json_kv_str(&j, "kind", k->kind);
			cf_json_kv_str(&j, "location", k->location);
			cf_json_kv_str(&j, "created_at", k->created_at);
			cf_json_kv_strs(&j, "tables", k->tables, k->n_tables);
			cf_json_kv_bool(&j, "present", k->is_present);
			cf_json_kv_bool(&j, "removed", k->is_removed);
			cf_json_obj_end(&j);
		}
		cf_json_arr_end(&j);
		cli_json_end(c, &j, &buf);
	}
	if (c->format == CLI_JSON)
		return;
	if (!b->n_backups)
		printf("no backup is recorded in %s\n", b->target);
	for (size_t i = 0; i < b->n_backups; i++) {
		const cf_sync_backup *k = &b->backups[i];
		printf("%-36s  %-20s  %-6s  %zu table%s  %s%s\n", k->run_id, k->created_at, k->kind,
		       k->n_tables, k->n_tables == 1 ? " " : "s", k->location,
		       k->is_removed ? "  (removed)" : k->is_present ? "" : "  (missing)");
	}
	if (prune)
		printf("removed %zu backup%s\n", b->n_removed, b->n_removed == 1 ? "" : "s");
}

static cf_status cmd_sync_backups(cli *c, int argc, char **argv)
{
	const char *target = NULL, *what = "list";
	long keep = -1;
	int ch;
	c->action = "backups";
	if (argc > 1 && argv[1][0] != '-') {
		what = argv[1];
		argc--;
		argv++;
	}
	optind = 0;
	while ((ch = cli_getopt(c, argc, argv, backups_opts.shortopts, BACKUPS_OPTIONS)) != -1) {
		cf_status st = CF_OK;
		if (ch == 'h')
			return cli_help(c);
		if (ch == 't')
			target = optarg;
		else if (ch == 'k')
			st = cli_parse_long(c, "--keep", optarg, &keep);
		else
			return CF_ERR_USAGE;
		if (st)
			return st;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	bool prune = strcmp(what, "prune") == 0;
	if (!prune && strcmp(what, "list") != 0)
		return cli_usage(c, "sync backups takes list or prune, not \"%s\"", what);
	if (prune && keep < 0)
		return cli_usage(c, "sync backups prune needs --keep N");
	cf_status st = cli_load(c);
	if (st)
		return st;
	cf_sync_backups *b = NULL;
	st = prune ? cf_sync_backups_prune(c->ctx, target, keep, &b)
	           : cf_sync_backups_list(c->ctx, target, &b);
	if (!st)
		backups_out(c, b, prune);
	cf_sync_backups_free(b);
	return st;
}

static cf_status parse_sync(cli *c, int argc, char **argv, sync_args *a, bool *help)
{
	int ch;
	long v;
	while ((ch = cli_getopt(c, argc, argv, cli_sync_opts.shortopts, OPTIONS)) != -1) {
		cf_status st = CF_OK;
		switch (ch) {
		case 'h': *help = true; return cli_help(c);
		case 'F': a->o.from = optarg; break;
		case 'T': a->o.to = optarg; break;
		case O_ANON: a->o.anonymize = true; break;
		case O_RULES: a->o.rules_file = optarg; break;
		case O_TABLES: st = parse_globs(c, "--tables", optarg, &a->tables); break;
		case O_EXCLUDE: st = parse_globs(c, "--exclude", optarg, &a->exclude); break;
		case 'j':
		case O_JOBS:
			st = cli_parse_long(c, "--jobs", optarg, &v);
			if (!st && v < 1)
				st = cli_usage(c, "option \"--jobs\" needs at least 1");
			a->o.jobs = v;
			break;
		case O_DRY: a->o.dry_run = true; break;
		case O_RESUME: a->o.resume = true; break;
		case O_VERIFY: a->o.verify = true; break;
		case O_RANDOM: a->o.allow_random = true; break;
		case O_UNMASKED: a->o.allow_unmasked = true; break;
		case O_CONTINUE: a->o.continue_on_error = true; break;
		case O_NO_ANALYZE: a->o.no_analyze = true; break;
		case O_INCREMENTAL: a->o.incremental = true; break;
		case O_BACKUP: a->o.backup = true; break;
		case O_BACKUP_DIR: a->o.backup_dir = optarg; break;
		case O_SPLIT:
			st = cli_parse_long(c, "--split-rows", optarg, &v);
			a->o.split_rows = v;
			break;
		case O_SAMPLE:
			st = cli_parse_long(c, "--verify-sample", optarg, &v);
			a->o.verify_sample = v;
			break;
		default: return CF_ERR_USAGE;
		}
		if (st)
			return st;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (!a->o.from || !a->o.to)
		return cli_usage(c, "sync needs --from ENV|URL and --to ENV|URL");
	if (a->o.dry_run && a->o.resume)
		return cli_usage(c, "--dry-run and --resume do not go together");
	if ((a->o.backup || a->o.backup_dir) && a->o.dry_run)
		return cli_usage(c, "--backup and --backup-dir do not go with --dry-run (nothing is "
		                    "overwritten)");
	if (a->o.allow_unmasked && !a->o.anonymize && !a->o.rules_file)
		return cli_usage(c, "--allow-unmasked goes with --anonymize or --rules");
	a->o.tables = (const char *const *)a->tables.v;
	a->o.n_tables = a->tables.n;
	a->o.exclude = (const char *const *)a->exclude.v;
	a->o.n_exclude = a->exclude.n;
	return CF_OK;
}

cf_status cmd_sync(cli *c, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "history") == 0)
		return cmd_sync_history(c, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "restore") == 0)
		return cmd_sync_restore(c, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "backups") == 0)
		return cmd_sync_backups(c, argc - 1, argv + 1);
	sync_args a = {0};
	cf_strv_init(&a.tables);
	cf_strv_init(&a.exclude);
	bool help = false;
	cf_status st = parse_sync(c, argc, argv, &a, &help);
	if (!st && !help)
		st = cli_load(c);
	if (!st && !help)
		st = cli_target(c, a.o.to);
	cf_sync_result *r = NULL;
	if (!st && !help) {
		st = cf_sync(c->ctx, &a.o, &r);
		for (size_t i = 0; r && i < r->n_warnings; i++)
			if (c->format != CLI_JSON)
				cli_logger(c, CF_LOG_WARNING, r->warnings[i]);
		if (cli_wants_json(c))
			result_json(c, r, st);
		if (c->format != CLI_JSON && (!st || r->is_dry_run || st == CF_ERR_CHECK || r->n_failed))
			result_text(c, r);
	}
	cf_sync_result_free(r);
	cf_strv_release(&a.tables);
	cf_strv_release(&a.exclude);
	return st;
}
