/* cmd_seed.c -- confiture seed apply */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void seed_json(cli *c, const cf_seed_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, st == CF_OK);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_str(&j, "database", r->database);
	cf_json_kv_str(&j, "mode", r->is_sequential ? "sequential" : "concatenate");
	cf_json_kv_int(&j, "applied", (long long)r->n_applied);
	cf_json_kv_int(&j, "failed", (long long)r->n_failed);
	cf_json_kv_int(&j, "statements", (long long)r->n_statements);
	cf_json_kv_bool(&j, "changes_detected", r->changes_detected);
	cf_json_key(&j, "files");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_files; i++) {
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "path", r->files[i].path);
		cf_json_kv_int(&j, "statements", (long long)r->files[i].n_statements);
		cf_json_kv_bool(&j, "success", r->files[i].success);
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

enum { OPT_SEQUENTIAL = 256, OPT_CONTINUE, OPT_PRODUCTION_OK };

static const struct option OPTIONS[] = {
	{"sequential", no_argument, 0, OPT_SEQUENTIAL},
	{"continue-on-error", no_argument, 0, OPT_CONTINUE},
	{"yes-i-mean-production", no_argument, 0, OPT_PRODUCTION_OK},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0}};
const cli_action cli_seed_actions[] = {{"apply", NULL, CLI_V_NONE, 0, NULL}, {0}};

const cli_opts cli_seed_opts = {"h", OPTIONS};

cf_status cmd_seed(cli *c, int argc, char **argv)
{
	cf_seed_options o = {0};
	int ch;
	/* Options may come before or after the action. */
	const char *action = NULL;
	for (;;) {
		while ((ch = cli_getopt(c, argc, argv, cli_seed_opts.shortopts, cli_seed_opts.longopts)) != -1) {
			if (ch == 'h')
				return cli_help(c);
			if (ch == OPT_SEQUENTIAL)
				o.is_sequential = true;
			else if (ch == OPT_CONTINUE)
				o.is_continue_on_error = true;
			else if (ch == OPT_PRODUCTION_OK)
				o.is_production_ok = true;
			else
				return CF_ERR_USAGE;
		}
		if (optind >= argc)
			break;
		if (action)
			return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
		action = argv[optind++];
	}
	if (!action)
		return cli_usage(c, "missing action (apply)");
	if (strcmp(action, "apply") != 0)
		return cli_usage(c, "unknown action \"%s\" (apply)", action);
	c->action = "apply";
	if (o.is_continue_on_error && !o.is_sequential)
		return cli_usage(c, "--continue-on-error needs --sequential");
	cf_status st = cli_load(c);
	if (!st)
		st = cli_target(c, NULL);
	if (st)
		return st;
	cf_seed_result *r = NULL;
	st = cf_seed_apply(c->ctx, &o, &r);
	if (cli_wants_json(c))
		seed_json(c, r, st);
	if (c->format != CLI_JSON && !c->is_quiet && (!st || r->n_applied)) {
		fprintf(stderr, "confiture: %s%s%s (%.2fs)\n", st ? "" : cli_color(c, "ok"),
		        st ? "" : r->message, cli_color(c, "reset"), r->duration_s);
	}
	cf_seed_result_free(r);
	return st;
}
