/* cmd_s2s.c -- confiture s2s setup|analyze|migrate|verify|cleanup (alias schema-to-schema) */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum s2s_action { A_SETUP, A_ANALYZE, A_MIGRATE, A_VERIFY, A_CLEANUP } s2s_action;

#define N_ACTIONS 5 /* rows of cli_s2s_actions */
#define ACTION_NAME(a) (cli_s2s_actions[a].name)

enum {
	O_SOURCE = 1000, O_TARGET, O_STAGING, O_SCHEMA, O_SKIP_IMPORT, O_MAPPING, O_TABLE, O_JOBS,
	O_BATCH, O_RESUME, O_RESTART, O_UPSERT, O_PRODUCTION_OK
};

typedef struct s2s_args {
	cf_s2s_opts o;
	cf_strv schemas, tables;
} s2s_args;

static const struct option OPTIONS[] = {
	{"source", required_argument, 0, O_SOURCE},
	{"target", required_argument, 0, O_TARGET},
	{"staging-schema", required_argument, 0, O_STAGING},
	{"schema", required_argument, 0, O_SCHEMA},
	{"skip-import", no_argument, 0, O_SKIP_IMPORT},
	{"mapping", required_argument, 0, O_MAPPING},
	{"table", required_argument, 0, O_TABLE},
	{"tables", required_argument, 0, O_TABLE},
	{"jobs", required_argument, 0, O_JOBS},
	{"batch-size", required_argument, 0, O_BATCH},
	{"resume", no_argument, 0, O_RESUME},
	{"restart", no_argument, 0, O_RESTART},
	{"upsert", no_argument, 0, O_UPSERT},
	{"yes-i-mean-production", no_argument, 0, O_PRODUCTION_OK},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};
const cli_opts cli_s2s_opts = {"hj:", OPTIONS};

#define COMMON "source target staging-schema help"
/* The actions in s2s_action order, with the options each takes. */
const cli_action cli_s2s_actions[] = {
	{"setup", COMMON " schema skip-import", CLI_V_NONE, 0, NULL},
	{"analyze", COMMON " schema mapping", CLI_V_NONE, CLI_FMTS_TABLE, NULL},
	{"migrate", COMMON " mapping table tables jobs batch-size resume restart upsert", CLI_V_NONE,
	 0, NULL},
	{"verify", COMMON " mapping table tables", CLI_V_NONE, 0, NULL},
	{"cleanup", COMMON " yes-i-mean-production", CLI_V_NONE, 0, NULL},
	{0},
};
_Static_assert(sizeof(cli_s2s_actions) / sizeof(*cli_s2s_actions) == N_ACTIONS + 1,
               "one row per s2s_action");

static cf_status parse(cli *c, int argc, char **argv, s2s_action a, s2s_args *args,
                       bool *is_help)
{
	cf_s2s_opts *o = &args->o;
	int ch, idx = 0;
	while ((ch = cli_getopt(c, argc, argv, cli_s2s_opts.shortopts, cli_s2s_opts.longopts)) != -1) {
		if (ch == '?')
			return CF_ERR_USAGE;
		if (ch == 'h') {
			*is_help = true;
			return cli_help(c);
		}
		if (ch == 'j')
			ch = O_JOBS;
		for (idx = 0; OPTIONS[idx].name && OPTIONS[idx].val != ch; idx++)
			;
		if (!cli_action_takes(&cli_s2s_actions[a], OPTIONS[idx].name))
			return cli_usage(c, "option \"--%s\" does not apply to \"s2s %s\"",
			                 OPTIONS[idx].name, ACTION_NAME(a));
		cf_status st = CF_OK;
		switch (ch) {
		case O_SOURCE: o->source = optarg; break;
		case O_TARGET: o->target = optarg; break;
		case O_STAGING: o->staging_schema = optarg; break;
		case O_SCHEMA: cf_strv_split(&args->schemas, optarg, ','); break;
		case O_SKIP_IMPORT: o->is_skip_import = true; break;
		case O_MAPPING: o->mapping_file = optarg; break;
		case O_TABLE: cf_strv_split(&args->tables, optarg, ','); break;
		case O_JOBS: st = cli_parse_long(c, "--jobs", optarg, &o->jobs); break;
		case O_BATCH: st = cli_parse_long(c, "--batch-size", optarg, &o->batch_size); break;
		case O_RESUME: o->is_resume = true; break;
		case O_RESTART: o->is_restart = true; break;
		case O_UPSERT: o->is_upsert = true; break;
		case O_PRODUCTION_OK: o->is_production_ok = true; break;
		default: return CF_ERR_USAGE;
		}
		if (st)
			return st;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (!o->target)
		return cli_usage(c, "s2s %s needs --target ENV|URL", ACTION_NAME(a));
	if (!o->source && a != A_CLEANUP)
		return cli_usage(c, "s2s %s needs --source ENV|URL", ACTION_NAME(a));
	if (!o->mapping_file && (a == A_MIGRATE || a == A_VERIFY))
		return cli_usage(c, "s2s %s needs --mapping FILE", ACTION_NAME(a));
	o->schemas = (const char *const *)args->schemas.v;
	o->n_schemas = args->schemas.n;
	o->tables = (const char *const *)args->tables.v;
	o->n_tables = args->tables.n;
	return CF_OK;
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_columns(cf_json *j, const cf_s2s_table *t)
{
	cf_json_key(j, "columns");
	cf_json_arr_begin(j);
	for (size_t i = 0; i < t->n_columns; i++) {
		const cf_s2s_column *c = &t->columns[i];
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "source", c->source);
		cf_json_kv_str(j, "target", c->target);
		cf_json_kv_str(j, "source_type", c->source_type);
		cf_json_kv_str(j, "target_type", c->target_type);
		cf_json_kv_str(j, "cast", c->cast);
		cf_json_kv_str(j, "expression", c->expression);
		cf_json_kv_bool(j, "required", c->is_required);
		cf_json_obj_end(j);
	}
	cf_json_arr_end(j);
}

static void json_table(cf_json *j, const cf_s2s_result *r, const cf_s2s_table *t)
{
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "entry", t->entry);
	cf_json_kv_str(j, "source_table", t->source_table);
	cf_json_kv_str(j, "target_table", t->target_table);
	cf_json_kv_str(j, "status", t->status);
	cf_json_kv_str(j, "key_column", t->key_column);
	cf_json_kv_str(j, "message", t->message);
	cf_json_kv_num(j, "duration_s", t->duration_s);
	if (strcmp(r->step, "analyze") == 0) {
		cf_json_kv_count(j, "row_estimate", t->row_estimate);
		cf_json_kv_count(j, "size_bytes", t->size_bytes);
		cf_json_kv_bool(j, "has_primary_key", t->has_primary_key);
		cf_json_kv_int(j, "recommended_batch_size", t->recommended_batch_size);
		cf_json_kv_int(j, "type_mismatches", (long long)t->n_mismatches);
		json_columns(j, t);
	} else if (strcmp(r->step, "migrate") == 0) {
		cf_json_kv_str(j, "mode", t->mode);
		cf_json_kv_int(j, "rows", t->rows);
		cf_json_kv_int(j, "ranges", t->n_ranges);
		cf_json_kv_int(j, "ranges_done", t->n_ranges_done);
		cf_json_kv_int(j, "ranges_skipped", t->n_ranges_skipped);
		cf_json_kv_int(j, "batch_size", t->batch_size);
		cf_json_kv_count(j, "row_estimate", t->row_estimate);
	} else if (strcmp(r->step, "verify") == 0) {
		cf_json_kv_bool(j, "match", t->is_match);
		cf_json_kv_count(j, "source_rows", t->source_rows);
		cf_json_kv_count(j, "target_rows", t->target_rows);
		cf_json_kv_str(j, "source_checksum", t->source_checksum);
		cf_json_kv_str(j, "target_checksum", t->target_checksum);
		cf_json_kv_bool(j, "pushed_down", t->is_pushed_down);
		cf_json_key(j, "first_diff_range");
		if (t->has_diff_range) {
			cf_json_obj_begin(j);
			cf_json_kv_str(j, "from", t->diff_range_lo);
			cf_json_kv_str(j, "to", t->diff_range_hi);
			cf_json_obj_end(j);
		} else {
			cf_json_null(j);
		}
		cf_json_kv_str(j, "first_diff_key", t->first_diff_key);
		cf_json_kv_strs(j, "checked_columns", t->checked_columns, t->n_checked_columns);
		cf_json_kv_strs(j, "unchecked_columns", t->unchecked_columns, t->n_unchecked_columns);
	}
	cf_json_obj_end(j);
}

static void render_json(cli *c, const cf_s2s_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	if (!c->target_url && r->target)
		cli_set_target(c, r->target, NULL, false);
	cli_json_begin(c, &j, &b, st == CF_OK);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_bool(&j, "changes_detected", r->changes_detected);
	cf_json_kv_str(&j, "source", r->source);
	cf_json_kv_str(&j, "server", r->server);
	cf_json_kv_str(&j, "staging_schema", r->staging_schema);
	if (strcmp(r->step, "setup") == 0) {
		cf_json_key(&j, "foreign_server");
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "host", r->fdw_host);
		cf_json_kv_str(&j, "port", r->fdw_port);
		cf_json_kv_str(&j, "dbname", r->fdw_dbname);
		cf_json_kv_str(&j, "user", r->fdw_user);
		cf_json_kv_bool(&j, "has_password", r->has_password);
		cf_json_kv_bool(&j, "password_required", r->is_password_required);
		cf_json_obj_end(&j);
	}
	if (strcmp(r->step, "setup") == 0 || strcmp(r->step, "cleanup") == 0)
		cf_json_kv_strs(&j, "actions", r->actions, r->n_actions);
	if (strcmp(r->step, "migrate") == 0)
		cf_json_kv_int(&j, "rows_copied", r->rows_copied);
	if (strcmp(r->step, "verify") == 0)
		cf_json_kv_int(&j, "mismatches", (long long)r->n_mismatches);
	cf_json_kv_strs(&j, "hints", r->hints, r->n_hints);
	if (strcmp(r->step, "setup") != 0 && strcmp(r->step, "cleanup") != 0) {
		cf_json_key(&j, "tables");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < r->n_tables; i++)
			json_table(&j, r, &r->tables[i]);
		cf_json_arr_end(&j);
	}
	cli_json_end(c, &j, &b);
}

/* ---- Text ------------------------------------------------------------------------- */

static void human_bytes(char *out, size_t n, long long v)
{
	if (v < 0)
		snprintf(out, n, "?");
	else if (v >= 1LL << 30)
		snprintf(out, n, "%.1f GB", (double)v / (1LL << 30));
	else if (v >= 1LL << 20)
		snprintf(out, n, "%.1f MB", (double)v / (1LL << 20));
	else
		snprintf(out, n, "%.0f kB", (double)v / 1024);
}

static void text_analyze(const cf_s2s_result *r)
{
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_s2s_table *t = &r->tables[i];
		char size[32];
		human_bytes(size, sizeof(size), t->size_bytes);
		printf("%s -> %s  %s\n", t->source_table, t->target_table ? t->target_table : "(none)",
		       t->status);
		printf("  ~%lld rows, %s, key %s, batch %ld\n", t->row_estimate < 0 ? 0 : t->row_estimate,
		       size, t->key_column ? t->key_column : "(none)", t->recommended_batch_size);
		for (size_t k = 0; k < t->n_columns; k++) {
			const cf_s2s_column *c = &t->columns[k];
			bool differ = c->source_type && c->target_type &&
			              strcmp(c->source_type, c->target_type) != 0;
			if (c->source && c->target && c->target_type)
				printf("  %-24s -> %-24s %s%s%s%s%s%s\n", c->source, c->target,
				       c->source_type ? c->source_type : "?", differ ? " -> " : "",
				       differ ? c->target_type : "",
				       c->cast && strcmp(c->cast, "none") != 0 ? "  [cast: " : "",
				       c->cast && strcmp(c->cast, "none") != 0 ? c->cast : "",
				       c->cast && strcmp(c->cast, "none") != 0 ? "]" : "");
			else if (c->target && c->expression)
				printf("  %-24s -> %-24s = %s\n", "(expression)", c->target, c->expression);
			else if (c->source && c->target)
				printf("  %-24s -> %-24s %s\n", c->source, c->target, c->cast ? c->cast : "");
			else if (c->target)
				printf("  %-24s    %-24s %s, target only%s\n", "", c->target, c->target_type,
				       c->is_required ? ", REQUIRED (NOT NULL, no default)" : "");
			else
				printf("  %-24s    %-24s %s, source only\n", c->source, "", c->source_type);
		}
		if (t->message)
			printf("  note: %s\n", t->message);
	}
	printf("%s\n", r->message ? r->message : "");
}

static void text_migrate(const cf_s2s_result *r)
{
	if (r->n_tables)
		printf("%-32s %-9s %12s %13s %9s\n", "table", "status", "rows", "ranges", "time");
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_s2s_table *t = &r->tables[i];
		char ranges[48];
		snprintf(ranges, sizeof(ranges), "%ld/%ld", t->n_ranges_done, t->n_ranges);
		printf("%-32s %-9s %12lld %13s %8.2fs\n", t->target_table ? t->target_table : t->entry,
		       t->status ? t->status : "-", t->rows, ranges, t->duration_s);
	}
	if (r->message)
		printf("%s in %.2f s\n", r->message, r->duration_s);
}

static void text_verify(const cf_s2s_result *r)
{
	for (size_t i = 0; i < r->n_tables; i++) {
		const cf_s2s_table *t = &r->tables[i];
		if (!t->status || strcmp(t->status, "failed") == 0) {
			printf("%-32s failed\n", t->target_table ? t->target_table : t->entry);
			continue;
		}
		if (t->is_match) {
			printf("%-32s match     %lld rows, checksum %s%s\n", t->target_table, t->target_rows,
			       t->target_checksum, t->is_pushed_down ? "" : " (computed on the target)");
			continue;
		}
		printf("%-32s MISMATCH  source %lld rows (%s), target %lld rows (%s)\n", t->target_table,
		       t->source_rows, t->source_checksum, t->target_rows, t->target_checksum);
		if (t->has_diff_range)
			printf("%-32s           first difference in %s range [%s, %s)", "", t->key_column,
			       t->diff_range_lo ? t->diff_range_lo : "start",
			       t->diff_range_hi ? t->diff_range_hi : "end");
		if (t->first_diff_key)
			printf(", at %s = %s", t->key_column, t->first_diff_key);
		if (t->has_diff_range)
			printf("\n");
	}
	if (r->n_tables && r->n_mismatches == 0 && r->message)
		printf("%s\n", r->message);
}

static void text_actions(const cf_s2s_result *r)
{
	if (strcmp(r->step, "setup") == 0 && r->fdw_host)
		printf("foreign server %s -> host=%s port=%s dbname=%s user=%s%s\n", r->server,
		       r->fdw_host, r->fdw_port, r->fdw_dbname, r->fdw_user,
		       r->has_password ? " (password from the source connection)" : "");
	for (size_t i = 0; i < r->n_actions; i++)
		printf("  %s\n", r->actions[i]);
	printf("%s\n", r->message ? r->message : "");
}

static void render_text(cli *c, const cf_s2s_result *r, cf_status st)
{
	for (size_t i = 0; i < r->n_hints && !c->is_quiet; i++)
		fprintf(stderr, "confiture: %shint:%s %s\n", cli_color(c, "hint"), cli_color(c, "reset"),
		        r->hints[i]);
	if (strcmp(r->step, "analyze") == 0 && !st)
		text_analyze(r);
	else if (strcmp(r->step, "migrate") == 0 && (!st || r->n_tables))
		text_migrate(r);
	else if (strcmp(r->step, "verify") == 0 && (!st || r->n_mismatches))
		text_verify(r);
	else if (!st)
		text_actions(r);
}

static void csv_analyze(const cf_s2s_result *r)
{
	printf("source_table,target_table,source_column,target_column,source_type,target_type,cast,"
	       "required\n");
	for (size_t i = 0; i < r->n_tables; i++)
		for (size_t k = 0; k < r->tables[i].n_columns; k++) {
			const cf_s2s_table *t = &r->tables[i];
			const cf_s2s_column *c = &t->columns[k];
			cli_csv_field(stdout, t->source_table, false);
			cli_csv_field(stdout, t->target_table, false);
			cli_csv_field(stdout, c->source, false);
			cli_csv_field(stdout, c->target, false);
			cli_csv_field(stdout, c->source_type, false);
			cli_csv_field(stdout, c->target_type, false);
			cli_csv_field(stdout, c->cast, false);
			cli_csv_field(stdout, c->is_required ? "true" : "false", true);
		}
}

/* ---- Entry ------------------------------------------------------------------------- */

cf_status cmd_s2s(cli *c, int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
			return cli_help(c);
		return cli_usage(c, "missing action (setup, analyze, migrate, verify or cleanup)");
	}
	size_t a = 0;
	const char *names[N_ACTIONS];
	for (size_t i = 0; i < N_ACTIONS; i++)
		names[i] = ACTION_NAME(i);
	while (a < N_ACTIONS && strcmp(argv[1], ACTION_NAME(a)) != 0)
		a++;
	if (a == N_ACTIONS) {
		cf_status st = cli_usage(c, "unknown action \"%s\" (setup, analyze, migrate, verify or "
		                            "cleanup)",
		                         argv[1]);
		const char *best = cf_closest(argv[1], names, N_ACTIONS);
		if (best)
			cf_error_hint(c->ctx, "Did you mean \"confiture s2s %s\"?", best);
		return st;
	}
	c->action = ACTION_NAME(a);
	s2s_args args = {0};
	cf_strv_init(&args.schemas);
	cf_strv_init(&args.tables);
	bool is_help = false;
	cf_status st = parse(c, argc - 1, argv + 1, (s2s_action)a, &args, &is_help);
	if (is_help)
		goto done;
	if (!st)
		st = cli_load(c);
	/* analyze and verify only read the target */
	if (!st && a != A_ANALYZE && a != A_VERIFY)
		st = cli_target(c, args.o.target);
	if (st)
		goto done;
	static cf_status (*const fns[])(cf_ctx *, const cf_s2s_opts *, cf_s2s_result **) = {
		cf_s2s_setup, cf_s2s_analyze, cf_s2s_migrate, cf_s2s_verify, cf_s2s_cleanup};
	cf_s2s_result *r = NULL;
	st = fns[a](c->ctx, &args.o, &r);
	if (r && cli_wants_json(c))
		render_json(c, r, st);
	if (r && c->format == CLI_CSV && !st)
		csv_analyze(r);
	else if (r && c->format != CLI_JSON)
		render_text(c, r, st);
	cf_s2s_result_free(r);
done:
	cf_strv_release(&args.schemas);
	cf_strv_release(&args.tables);
	return st;
}
