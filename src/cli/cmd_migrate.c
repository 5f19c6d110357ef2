/*
 * cmd_migrate.c -- confiture migrate status|up|down|down-to|current|generate|
 * baseline|verify|preflight, and the rendering shared with verify-checksums.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- Rendering ------------------------------------------------------------------- */

static void json_migration(cf_json *j, const cf_migration *e)
{
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "version", e->version);
	cf_json_kv_str(j, "name", e->name);
	cf_json_kv_str(j, "status", e->status);
	cf_json_kv_str(j, "applied_at", e->applied_at);
	cf_json_kv_str(j, "file", e->file);
	cf_json_kv_str(j, "down_file", e->down_file);
	cf_json_kv_str(j, "checksum", e->checksum);
	cf_json_kv_str(j, "stored_checksum", e->stored_checksum);
	cf_json_kv_count(j, "execution_time_ms", e->execution_time_ms);
	cf_json_kv_bool(j, "non_transactional", e->is_nontx);
	cf_json_kv_str(j, "note", e->note);
	cf_json_obj_end(j);
}

/* Versions of the entries with STATUS. */
static void json_versions(cf_json *j, const char *key, const cf_migrate_result *r,
                          const char *status)
{
	cf_json_key(j, key);
	cf_json_arr_begin(j);
	for (size_t i = 0; i < r->n_migrations; i++)
		if (strcmp(r->migrations[i].status, status) == 0)
			cf_json_str(j, r->migrations[i].version);
	cf_json_arr_end(j);
}

/* The error is a real failure, not a finding such as "pending". */
static bool has_error(cli *c, cf_status st)
{
	return st && cf_last_error_info(c->ctx);
}

/* One JSON document for every migrate action. */
static void cli_migrate_json(cli *c, const cf_migrate_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, !has_error(c, st));
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_str(&j, "tracking_table", r->tracking_table);
	cf_json_kv_bool(&j, "ledger_exists", r->has_ledger);
	cf_json_kv_bool(&j, "dry_run", r->is_dry_run);
	cf_json_kv_bool(&j, "changes_detected", r->changes_detected);
	cf_json_kv_int(&j, "applied_count", r->n_applied);
	cf_json_kv_int(&j, "pending_count", r->n_pending);
	cf_json_kv_int(&j, "failed_count", r->n_failed);
	cf_json_kv_int(&j, "total", r->n_total);
	cf_json_kv_str(&j, "current", r->current);
	if (strcmp(r->action, "status") == 0) {
		cf_json_kv_bool(&j, "offline", r->is_offline);
		json_versions(&j, "applied", r, "applied");
		json_versions(&j, "pending", r, "pending");
		json_versions(&j, "missing", r, "missing");
		cf_json_key(&j, "summary");
		cf_json_obj_begin(&j);
		long applied = 0;
		for (size_t i = 0; i < r->n_migrations; i++)
			applied += strcmp(r->migrations[i].status, "applied") == 0;
		cf_json_kv_int(&j, "applied", applied);
		cf_json_kv_int(&j, "pending", r->n_pending);
		cf_json_kv_int(&j, "total", r->n_total);
		cf_json_obj_end(&j);
	}
	if (r->n_created)
		cf_json_kv_strs(&j, "created", r->created, r->n_created);
	cf_json_key(&j, "migrations");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_migrations; i++)
		json_migration(&j, &r->migrations[i]);
	cf_json_arr_end(&j);
	cf_json_kv_strs(&j, "orphaned_migrations", r->orphans, r->n_orphans);
	cf_json_kv_strs(&j, "duplicate_versions", r->duplicates, r->n_duplicates);
	cli_json_warnings(&j, r->warnings, r->n_warnings);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

static const char *status_word(const char *status)
{
	static const struct {
		const char *status, *word;
	} words[] = {
		{"applied_now", "applied"},         {"would_apply", "would apply"},
		{"rolled_back", "rolled back"},     {"would_roll_back", "would roll back"},
		{"baselined", "marked applied"},    {"would_baseline", "would mark applied"},
		{"verified", "ok"},                 {"verify_failed", "FAILED"},
		{"checksum_ok", "ok"},              {"checksum_mismatch", "MISMATCH"},
		{"checksum_fixed", "fixed"},        {"no_checksum", "no checksum"},
		{"failed", "FAILED"},               {"missing", "missing file"},
		{"not_tried", "NOT TRIED"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcmp(words[i].status, status) == 0)
			return words[i].word;
	return status;
}

static void text_status(cli *c, const cf_migrate_result *r)
{
	(void)c;
	printf("%-16s %-40s %-13s %s\n", "VERSION", "NAME", "STATUS", "APPLIED AT");
	for (size_t i = 0; i < r->n_migrations; i++) {
		const cf_migration *e = &r->migrations[i];
		printf("%-16s %-40s %-13s %s\n", e->version, e->name, status_word(e->status),
		       e->applied_at ? e->applied_at : "");
	}
	for (size_t i = 0; i < r->n_orphans; i++)
		printf("orphan: %s (not VERSION_NAME.up.sql/.down.sql)\n", r->orphans[i]);
	for (size_t i = 0; i < r->n_duplicates; i++)
		printf("duplicate version %s\n", r->duplicates[i]);
	printf("%s\n", r->message);
}

static void csv_status(const cf_migrate_result *r)
{
	printf("version,name,status\n");
	for (size_t i = 0; i < r->n_migrations; i++) {
		const cf_migration *e = &r->migrations[i];
		cli_csv_field(stdout, e->version, false);
		cli_csv_field(stdout, e->name, false);
		cli_csv_field(stdout, e->status, true);
	}
}

/* The lines every action prints: one per migration it touched. */
static void cli_migrate_text(cli *c, const cf_migrate_result *r, cf_status st)
{
	if (strcmp(r->action, "status") == 0) {
		text_status(c, r);
		return;
	}
	if (strcmp(r->action, "current") == 0) {
		/* The bare version, for v=$(confiture migrate current); none: nothing. */
		if (!st && r->current)
			printf("%s\n", r->current);
		return;
	}
	for (size_t i = 0; i < r->n_created; i++)
		printf("created %s\n", r->created[i]);
	for (size_t i = 0; i < r->n_migrations; i++) {
		const cf_migration *e = &r->migrations[i];
		printf("%-18s %s_%s", status_word(e->status), e->version, e->name);
		bool runs = strcmp(r->action, "up") == 0 || strcmp(r->action, "down") == 0 ||
		            strcmp(r->action, "down-to") == 0;
		if (e->execution_time_ms >= 0 && runs)
			printf(" (%ld ms)", e->execution_time_ms);
		if (e->note)
			printf(" -- %s", e->note);
		putchar('\n');
	}
	if (strcmp(r->action, "preflight") == 0)
		for (size_t i = 0; i < r->n_errors; i++) {
			const cf_error_item *e = &r->errors[i];
			if (e->file && e->line > 0)
				printf("error: %s:%d:%d: %s\n", e->file, e->line, e->column, e->message);
			else if (e->file)
				printf("error: %s: %s\n", e->file, e->message);
			else
				printf("error: %s\n", e->message);
		}
	if (!st)
		printf("%s (%.2f s)\n", r->message, r->duration_s);
}

cf_status cli_migrate_render(cli *c, cf_migrate_result *r, cf_status st)
{
	if (cli_wants_json(c))
		cli_migrate_json(c, r, st);
	if (c->format == CLI_CSV && strcmp(r->action, "status") == 0)
		csv_status(r);
	else if (c->format != CLI_JSON)
		cli_migrate_text(c, r, st);
	cf_migrate_result_free(r);
	return st;
}

/* ---- Options ----------------------------------------------------------------------- */

enum {
	O_TARGET = 256, O_DRY_RUN, O_DRY_RUN_EXECUTE, O_LOCK_TIMEOUT, O_NO_LOCK, O_ON_MISMATCH,
	O_THROUGH, O_FROM_DB, O_IMPORT, O_AGAINST, O_VERSION_ID, O_OFFLINE, O_FIX,
	O_PRODUCTION_OK, O_DIR, O_FROM_DIFF, O_ALLOW_DESTRUCTIVE, O_SCRATCH_URL
};

/* The actions, for the parser, the command table and completion. */
/* Every action reads the migrations directory (the precursor's flag). */
#define DIR_FLAG "migrations-dir"

const cli_action cli_migrate_actions[] = {
	{"status", "offline " DIR_FLAG, CLI_V_NONE, CLI_FMTS_TABLE, NULL},
	{"up", "target dry-run dry-run-execute lock-timeout no-lock on-checksum-mismatch " DIR_FLAG,
	 CLI_V_NONE, 0, NULL},
	{"down", "steps dry-run lock-timeout no-lock yes-i-mean-production " DIR_FLAG, CLI_V_NONE, 0,
	 NULL},
	{"down-to", "dry-run lock-timeout no-lock yes-i-mean-production " DIR_FLAG, CLI_V_VERSION, 0,
	 NULL},
	{"current", DIR_FLAG, CLI_V_NONE, 0, NULL},
	{"generate", "version-id from-diff allow-destructive scratch-url " DIR_FLAG, CLI_V_NONE, 0,
	 NULL},
	{"baseline", "through from-db import dry-run lock-timeout no-lock " DIR_FLAG, CLI_V_NONE, 0,
	 NULL},
	{"verify", DIR_FLAG, CLI_V_NONE, 0, NULL},
	{"preflight", "against " DIR_FLAG, CLI_V_NONE, 0, NULL},
	{0},
};

/* What each action of cli_migrate_actions runs, in the same order. */
typedef struct action_impl {
	int nargs;               /* positional arguments */
	cf_status (*fn)(cf_ctx *, const cf_migrate_opts *, cf_migrate_result **);
} action_impl;

static const action_impl IMPL[] = {
	{0, cf_migrate_status},   {0, cf_migrate_up},      {0, cf_migrate_down},
	{1, cf_migrate_down_to},  {0, cf_migrate_current}, {1, cf_migrate_generate},
	{0, cf_migrate_baseline}, {0, cf_migrate_verify},  {0, cf_migrate_preflight},
};

_Static_assert(sizeof(IMPL) / sizeof(*IMPL) + 1 ==
                   sizeof(cli_migrate_actions) / sizeof(*cli_migrate_actions),
               "one implementation per migrate action");

static const struct option OPTS[] = {
	{"help", no_argument, 0, 'h'},
	{"target", required_argument, 0, O_TARGET},
	{"dry-run", no_argument, 0, O_DRY_RUN},
	{"dry-run-execute", no_argument, 0, O_DRY_RUN_EXECUTE},
	{"lock-timeout", required_argument, 0, O_LOCK_TIMEOUT},
	{"no-lock", no_argument, 0, O_NO_LOCK},
	{"on-checksum-mismatch", required_argument, 0, O_ON_MISMATCH},
	{"steps", required_argument, 0, 'n'},
	{"through", required_argument, 0, O_THROUGH},
	{"from-db", required_argument, 0, O_FROM_DB},
	{"import", required_argument, 0, O_IMPORT},
	{"against", required_argument, 0, O_AGAINST},
	{"version-id", required_argument, 0, O_VERSION_ID},
	{"offline", no_argument, 0, O_OFFLINE},
	{"fix", no_argument, 0, O_FIX},
	{"yes-i-mean-production", no_argument, 0, O_PRODUCTION_OK},
	{"migrations-dir", required_argument, 0, O_DIR},
	{"from-diff", no_argument, 0, O_FROM_DIFF},
	{"allow-destructive", no_argument, 0, O_ALLOW_DESTRUCTIVE},
	{"scratch-url", required_argument, 0, O_SCRATCH_URL},
	{0, 0, 0, 0},
};

const cli_opts cli_migrate_opts = {"hn:", OPTS};

/* The actions that write to the database (dry runs included: the plan is
 * made against the same database). */
static bool writes(const cli_action *a)
{
	static const char *const names[] = {"up", "down", "down-to", "baseline"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcmp(a->name, names[i]) == 0)
			return true;
	return false;
}

static const char *opt_name(int ch)
{
	for (const struct option *o = OPTS; o->name; o++)
		if (o->val == ch)
			return o->name;
	return "?";
}

/* generate --from-diff's own options. */
static cli_from_diff from_diff;

/* Applies one option to OPTS (or to the config, for lock and checksum). */
static cf_status set_opt(cli *c, const cli_action *a, int ch, cf_migrate_opts *o)
{
	const char *name = opt_name(ch);
	if (!cli_action_takes(a, name))
		return cli_usage(c, "option \"--%s\" does not apply to migrate %s", name, a->name);
	long v = 0;
	cf_status st = CF_OK;
	switch (ch) {
	case O_TARGET: o->target = optarg; break;
	case O_DRY_RUN: o->dry_run = true; break;
	case O_DRY_RUN_EXECUTE: o->dry_run_execute = true; break;
	case O_THROUGH: o->through = optarg; break;
	case O_FROM_DB: o->from_db = optarg; break;
	case O_IMPORT: o->import_tool = optarg; break;
	case O_AGAINST: o->against = optarg; break;
	case O_VERSION_ID: o->version = optarg; break;
	case O_OFFLINE: o->offline = true; break;
	case O_FIX: o->fix = true; break;
	case O_PRODUCTION_OK: o->is_production_ok = true; break;
	case O_FROM_DIFF: from_diff.is_on = true; break;
	case O_ALLOW_DESTRUCTIVE: from_diff.opts.allow_destructive = true; break;
	case O_SCRATCH_URL: from_diff.opts.scratch_url = optarg; break;
	case 'n':
		st = cli_parse_long(c, "--steps", optarg, &v);
		if (!st && v == 0)
			st = cli_usage(c, "option \"--steps\" needs at least 1");
		o->steps = v;
		break;
	case O_LOCK_TIMEOUT:
		st = cli_parse_long(c, "--lock-timeout", optarg, &v);
		if (!st)
			st = cf_ctx_set_option(c->ctx, "migration.lock_timeout_ms", optarg, "--lock-timeout");
		break;
	case O_NO_LOCK:
		st = cf_ctx_set_option(c->ctx, "migration.locking.enabled", "false", "--no-lock");
		break;
	case O_DIR:
		st = cf_ctx_set_option(c->ctx, "migration.dir", optarg, "--migrations-dir");
		break;
	case O_ON_MISMATCH:
		st = cf_ctx_set_option(c->ctx, "migration.on_checksum_mismatch", optarg,
		                       "--on-checksum-mismatch");
		if (st)
			cf_error_hint(c->ctx, "Use fail, warn or ignore.");
		break;
	}
	return st;
}

static cf_status parse_opts(cli *c, const cli_action *a, int nargs_max, int argc, char **argv,
                            cf_migrate_opts *o, bool *is_help)
{
	const char *args[2] = {0};
	int nargs = 0, ch;
	for (;;) {
		ch = cli_getopt(c, argc, argv, cli_migrate_opts.shortopts, OPTS);
		if (ch == -1) {
			/* Positional arguments may come before options: take one, go on. */
			if (optind >= argc || strcmp(argv[optind], "--") == 0)
				break;
			if (nargs == nargs_max)
				return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
			args[nargs++] = argv[optind++];
			continue;
		}
		if (ch == 'h') {
			*is_help = true;
			return cli_help(c);
		}
		if (ch == '?')
			return CF_ERR_USAGE;
		cf_status st = set_opt(c, a, ch, o);
		if (st)
			return st;
	}
	if (o->dry_run && o->dry_run_execute)
		return cli_usage(c, "--dry-run and --dry-run-execute exclude each other");
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	while (optind < argc && nargs < nargs_max)
		args[nargs++] = argv[optind++];
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (nargs < nargs_max)
		return cli_usage(c, "migrate %s needs %s", a->name,
		                 strcmp(a->name, "generate") == 0 ? "a NAME" : "a VERSION");
	if (nargs_max && strcmp(a->name, "generate") == 0)
		o->name = args[0];
	else if (nargs_max)
		o->version = args[0];
	return CF_OK;
}

cf_status cmd_migrate(cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(c, "missing action (status, up, down, down-to, current, generate, "
		                    "baseline, verify or preflight)");
	if (strcmp(argv[1], "-h") == 0 && argc > 2)
		return cli_help_host(c, argv[2]);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return cli_help(c);
	const cli_command *cmd = cli_find_command("migrate");
	const cli_action *a = cli_find_action(cmd, argv[1]);
	if (!a) {
		const char *names[16];
		size_t n = 0;
		for (; cli_migrate_actions[n].name; n++)
			names[n] = cli_migrate_actions[n].name;
		cf_status st = cli_usage(c, "unknown migrate action \"%s\"", argv[1]);
		const char *best = cf_closest(argv[1], names, n);
		if (best)
			cf_error_hint(c->ctx, "Did you mean \"confiture migrate %s\"?", best);
		return st;
	}
	const action_impl *impl = &IMPL[a - cli_migrate_actions];
	c->action = a->name;
	cf_migrate_opts o = {0};
	bool is_help = false;
	optind = 0;
	cf_status st = parse_opts(c, a, impl->nargs, argc - 1, argv + 1, &o, &is_help);
	if (st || is_help)
		return st;
	if (!from_diff.is_on && (from_diff.opts.allow_destructive || from_diff.opts.scratch_url))
		return cli_usage(c, "--allow-destructive and --scratch-url go with --from-diff");
	st = cli_load(c);
	if (!st && writes(a))
		st = cli_target(c, NULL);
	else if (!st && o.against) /* preflight replays the pending migrations there */
		st = cli_target(c, o.against);
	if (st)
		return st;
	if (from_diff.is_on) {
		from_diff.opts.name = o.name;
		from_diff.opts.version = o.version;
		return cli_generate_from_diff(c, &from_diff.opts);
	}
	if (strcmp(a->name, "preflight") == 0 || (strcmp(a->name, "up") == 0 && o.dry_run)) {
		st = cli_lint_gate(c, a->name[0] == 'p' ? CF_ERR_PREFLIGHT : CF_ERR_CHECK);
		if (st)
			return st;
	}
	cf_migrate_result *r = NULL;
	st = impl->fn(c->ctx, &o, &r);
	return cli_migrate_render(c, r, st);
}
