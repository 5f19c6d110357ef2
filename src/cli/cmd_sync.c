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
	if (!t->n_masked)
		return;
	printf("  masked: ");
	for (size_t k = 0; k < t->n_masked; k++)
		printf("%s%s", k ? ", " : "", t->masked[k]);
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

static void plan_text(const cf_sync_result *r)
{
	printf("plan: %zu table%s from %s into %s%s\n", r->n_tables, r->n_tables == 1 ? "" : "s",
	       r->source, r->target, r->is_anonymized ? " (anonymized)" : " (verbatim)");
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_sync_table *t = &r->tables[i];
		printf("  %2zu. %-32s ~%lld rows  %s", i + 1, t->name, t->est_rows, t->format);
		if (t->n_ranges > 1)
			printf("  %d ranges", t->n_ranges);
		print_masked(t);
		printf("\n");
		if (t->is_subset)
			printf("      subset: %s\n", t->where);
	}
	print_issues(r, "pii", "columns that look like personal data");
}

static void result_text(cli *c, const cf_sync_result *r)
{
	if (r->is_dry_run) {
		plan_text(r);
		return;
	}
	if (!r->run_id) {
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
		printf("  %-32s %10lld rows %10s %8.2f s  %s", t->name, t->rows, b, t->duration_s,
		       t->format);
		if (t->n_ranges > 1)
			printf(", %d ranges", t->n_ranges);
		if (t->is_subset)
			printf(", subset");
		print_masked(t);
		printf("\n");
	}
	print_issues(r, "row_count", "verify");
	print_issues(r, "checksum", "verify");
	print_issues(r, "masked", "verify");
	print_issues(r, "fk_", "verify");
	if (r->success) {
		char b[32];
		human_bytes(b, sizeof(b), r->bytes);
		printf("%ssynced %ld table%s, %lld rows, %s in %.2f s (%s)%s%s\n", cli_color(c, "ok"),
		       r->n_copied, r->n_copied == 1 ? "" : "s", r->rows, b, r->duration_s,
		       r->is_anonymized ? "anonymized" : "verbatim",
		       r->is_verified ? ", verified" : "", cli_color(c, "reset"));
		if (r->n_skipped)
			printf("%ld table%s already done by run %s\n", r->n_skipped,
			       r->n_skipped == 1 ? " was" : "s were", r->resumed_from);
	}
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
	cf_json_kv_bool(&j, "dry_run", r->is_dry_run);
	cf_json_kv_bool(&j, "verified", r->is_verified);
	cf_json_kv_int(&j, "tables_copied", r->n_copied);
	cf_json_kv_int(&j, "tables_skipped", r->n_skipped);
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
			printf("%-36s  %-20s  %-13s  %6zu  %10lld  %8.2fs  %s (%s%s)\n", r->run_id,
			       r->started_at, r->outcome, r->n_tables, r->rows, r->duration_s, r->source,
			       r->run_by, r->is_anonymized ? ", anonymized" : "");
		}
	}
	cf_sync_history_free(h);
	return st;
}

/* ---- sync ------------------------------------------------------------------------------- */

typedef struct sync_args {
	cf_sync_opts o;
	cf_strv tables, exclude;
} sync_args;

enum { O_ANON = 1000, O_RULES, O_TABLES, O_EXCLUDE, O_JOBS, O_DRY, O_RESUME, O_VERIFY,
       O_RANDOM, O_SPLIT, O_SAMPLE };
static const struct option OPTIONS[] = {
	{"from", required_argument, 0, 'F'},     {"to", required_argument, 0, 'T'},
	{"anonymize", no_argument, 0, O_ANON},   {"rules", required_argument, 0, O_RULES},
	{"anonymization-config", required_argument, 0, O_RULES}, /* the precursor's name */
	{"tables", required_argument, 0, O_TABLES}, {"exclude", required_argument, 0, O_EXCLUDE},
	{"jobs", required_argument, 0, O_JOBS},  {"dry-run", no_argument, 0, O_DRY},
	{"resume", no_argument, 0, O_RESUME},    {"verify", no_argument, 0, O_VERIFY},
	{"allow-random", no_argument, 0, O_RANDOM}, {"split-rows", required_argument, 0, O_SPLIT},
	{"verify-sample", required_argument, 0, O_SAMPLE},
	{"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
const cli_opts cli_sync_opts = {"hj:", OPTIONS};

const cli_action cli_sync_actions[] = {
	{"history", NULL, CLI_V_NONE, 0, &cli_sync_history_opts},
	{0},
};

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
		case O_TABLES: cf_strv_split(&a->tables, optarg, ','); break;
		case O_EXCLUDE: cf_strv_split(&a->exclude, optarg, ','); break;
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
		if (c->format != CLI_JSON && (!st || r->is_dry_run || st == CF_ERR_CHECK))
			result_text(c, r);
	}
	cf_sync_result_free(r);
	cf_strv_release(&a.tables);
	cf_strv_release(&a.exclude);
	return st;
}
