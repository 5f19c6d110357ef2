/* cmd_lint.c -- confiture lint [PATH...] [--all | --schema] [OPTIONS] */
#include "cli.h"
#include "findings.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct lint_args {
	cf_lint_opts o;
	cf_strv select, ignore, paths;
	bool list_rules;
	bool is_help;
} lint_args;

static cli_severity sev_of(cf_lint_severity s)
{
	return s == CF_LINT_ERROR ? CLI_SEV_ERROR : s == CF_LINT_WARNING ? CLI_SEV_WARNING : CLI_SEV_INFO;
}

cli_finding *cli_lint_findings(const cf_lint_result *r)
{
	cli_finding *v = cf_calloc(r->n_findings ? r->n_findings : 1, sizeof(cli_finding));
	for (size_t i = 0; i < r->n_findings; i++) {
		const cf_lint_finding *f = &r->findings[i];
		v[i] = (cli_finding){f->file,     f->line,    f->column,     f->end_line,
		                     f->end_column, sev_of(f->severity), f->rule, f->message,
		                     f->help,     f->statement, (const char *const *)f->objects,
		                     f->n_objects};
	}
	return v;
}

cli_rule_info *cli_lint_rule_infos(size_t *n)
{
	const cf_lint_rule_info *rules = cf_lint_rules(n);
	cli_rule_info *v = cf_calloc(*n, sizeof(cli_rule_info));
	for (size_t i = 0; i < *n; i++)
		v[i] = (cli_rule_info){rules[i].name, rules[i].summary, NULL, sev_of(rules[i].severity)};
	return v;
}

static void render_json(cli *c, const cf_lint_result *r, const cli_finding *v, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, st == CF_OK || st == CF_ERR_CHECK);
	cf_json_kv_str(&j, "scope", r->scope);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_int(&j, "pg_version", r->pg_version);
	cf_json_kv_str(&j, "pg_version_from", r->pg_version_from);
	cf_json_kv_strs(&j, "files", r->files, r->n_files);
	cf_json_kv_int(&j, "statements", (long long)r->n_statements);
	cf_json_kv_int(&j, "errors_found", (long long)r->n_error_findings);
	cf_json_kv_int(&j, "warnings_found", (long long)r->n_warning_findings);
	cf_json_kv_int(&j, "infos_found", (long long)r->n_info_findings);
	cf_json_kv_strs(&j, "assumptions", r->assumptions, r->n_assumptions);
	cf_json_key(&j, "findings");
	cli_findings_json(&j, v, r->n_findings);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

static void render_text(cli *c, const cf_lint_result *r, const cli_finding *v)
{
	cli_findings_text(stdout, v, r->n_findings, c->has_color && isatty(1));
	if (c->is_quiet)
		return;
	for (size_t i = 0; i < r->n_assumptions; i++)
		fprintf(stderr, "confiture: note: %s\n", r->assumptions[i]);
	fprintf(stderr, "confiture: lint (%s, PostgreSQL %d from %s): %s\n", r->scope,
	        r->pg_version / 10000, r->pg_version_from, r->message);
}

static cf_status render(cli *c, cf_lint_result *r, cf_status st)
{
	cli_finding *v = cli_lint_findings(r);
	bool failed = st != CF_OK && st != CF_ERR_CHECK;
	if (c->format == CLI_JSON) {
		render_json(c, r, v, st);
	} else if (!failed && c->format == CLI_SARIF) {
		size_t n;
		cli_rule_info *rules = cli_lint_rule_infos(&n);
		cli_tool_info tool = {"confiture", CONFITURE_VERSION, NULL, rules, n};
		cli_findings_sarif(stdout, &tool, v, r->n_findings);
		free(rules);
	} else if (!failed && c->format == CLI_GITHUB) {
		cli_findings_github(stdout, v, r->n_findings);
	} else if (!failed) {
		render_text(c, r, v);
	}
	free(v);
	cf_lint_result_free(r);
	return st;
}

static cf_status list_rules(cli *c)
{
	size_t n;
	const cf_lint_rule_info *rules = cf_lint_rules(&n);
	static const char *const SEV[] = {"error", "warning", "info", "off"};
	if (c->format == CLI_JSON) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_key(&j, "rules");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			cf_json_obj_begin(&j);
			cf_json_kv_str(&j, "name", rules[i].name);
			cf_json_kv_str(&j, "family", rules[i].family);
			cf_json_kv_bool(&j, "squawk", rules[i].is_squawk);
			cf_json_kv_str(&j, "alias", rules[i].alias);
			cf_json_kv_str(&j, "severity", SEV[rules[i].severity]);
			cf_json_kv_bool(&j, "default", rules[i].is_default);
			cf_json_kv_str(&j, "summary", rules[i].summary);
			cf_json_obj_end(&j);
		}
		cf_json_arr_end(&j);
		cli_json_end(c, &j, &b);
		return CF_OK;
	}
	printf("%-45s %-10s %-8s %-8s %s\n", "rule", "family", "severity", "default", "summary");
	for (size_t i = 0; i < n; i++)
		printf("%-45s %-10s %-8s %-8s %s\n", rules[i].name, rules[i].family,
		       SEV[rules[i].severity], rules[i].is_default ? "on" : "off", rules[i].summary);
	return CF_OK;
}

static const struct option OPTIONS[] = {
	{"help", no_argument, 0, 'h'},          {"all", no_argument, 0, 'A'},
	{"schema", no_argument, 0, 'S'},        {"pg-version", required_argument, 0, 'V'},
	{"select", required_argument, 0, 's'},  {"ignore", required_argument, 0, 'i'},
	{"exclude", required_argument, 0, 'i'}, {"assume-in-transaction", no_argument, 0, 'T'},
	{"offline", no_argument, 0, 'O'},       {"list-rules", no_argument, 0, 'L'},
	{0, 0, 0, 0}};
const cli_opts cli_lint_opts = {"h", OPTIONS};

static cf_status parse_args(cli *c, int argc, char **argv, lint_args *a)
{
	a->o.assume_in_transaction = -1;
	for (;;) {
		int ch = cli_getopt(c, argc, argv, cli_lint_opts.shortopts, cli_lint_opts.longopts);
		if (ch == -1) {
			if (optind >= argc)
				break;
			cf_strv_push(&a->paths, argv[optind++]); /* options may follow paths */
			continue;
		}
		switch (ch) {
		case 'h': a->is_help = true; return CF_OK;
		case 'A': a->o.is_all = true; break;
		case 'S': a->o.is_schema = true; break;
		case 'V': a->o.pg_version = optarg; break;
		case 's': cf_strv_split(&a->select, optarg, ','); break;
		case 'i': cf_strv_split(&a->ignore, optarg, ','); break;
		case 'T': a->o.assume_in_transaction = 1; break;
		case 'O': a->o.is_offline = true; break;
		case 'L': a->list_rules = true; break;
		default: return CF_ERR_USAGE;
		}
	}
	if (a->o.is_all && a->o.is_schema)
		return cli_usage(c, "--all and --schema cannot be combined");
	if (a->paths.n && (a->o.is_all || a->o.is_schema))
		return cli_usage(c, "paths cannot be combined with %s", a->o.is_all ? "--all" : "--schema");
	a->o.paths = (const char *const *)a->paths.v;
	a->o.n_paths = a->paths.n;
	a->o.select = (const char *const *)a->select.v;
	a->o.n_select = a->select.n;
	a->o.ignore = (const char *const *)a->ignore.v;
	a->o.n_ignore = a->ignore.n;
	return CF_OK;
}

cf_status cmd_lint(cli *c, int argc, char **argv)
{
	lint_args a = {0};
	cf_strv_init(&a.select);
	cf_strv_init(&a.ignore);
	cf_strv_init(&a.paths);
	cf_status st = parse_args(c, argc, argv, &a);
	if (!st && a.is_help) {
		st = cli_help(c);
	} else if (!st && a.list_rules) {
		st = list_rules(c);
	} else if (!st) {
		/* Outside any project this loads the defaults: plain files lint too. */
		st = cli_load(c);
		cf_lint_result *r = NULL;
		if (!st) {
			st = cf_lint(c->ctx, &a.o, &r);
			st = render(c, r, st);
		}
	}
	cf_strv_release(&a.select);
	cf_strv_release(&a.ignore);
	cf_strv_release(&a.paths);
	return st;
}

cf_status cli_lint_gate(cli *c, cf_status blocked)
{
	cf_lint_result *r = NULL;
	cf_status st = cf_lint(c->ctx, NULL, &r);
	if (st != CF_OK && st != CF_ERR_CHECK) {
		cf_lint_result_free(r);
		return st;
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		const cf_lint_finding *f = &r->findings[i];
		const char *sev = f->severity == CF_LINT_ERROR ? "error" : "warning";
		if (f->severity == CF_LINT_INFO && !c->is_verbose)
			continue;
		/* As a warning of the command: on stderr, and in JSON's warnings[]. */
		char *msg = cf_asprintf("lint %s:%d:%d: %s %s: %s", f->file, f->line, f->column, sev,
		                        f->rule, f->message);
		cli_logger(c, CF_LOG_WARNING, msg);
		free(msg);
	}
	st = CF_OK;
	if (r->is_blocking) {
		st = cf_error_set(c->ctx, blocked, "lint found %zu error%s and %zu warning%s in the "
		                                   "pending migrations",
		                  r->n_error_findings, r->n_error_findings == 1 ? "" : "s",
		                  r->n_warning_findings, r->n_warning_findings == 1 ? "" : "s");
		cf_error_hint(c->ctx, "lint.block_on stops migrate on them: fix them, mark the "
		                      "deliberate ones with -- confiture:lint-ignore RULE, or see "
		                      "confiture lint.");
	}
	cf_lint_result_free(r);
	return st;
}
