/* cmd_hooks.c -- confiture hooks list | test EVENT */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cf_status hooks_list(cli *c)
{
	cf_hook_info *v = NULL;
	size_t n = cf_hooks_list(c->ctx, &v);
	if (c->format == CLI_JSON) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_key(&j, "hooks");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			cf_json_obj_begin(&j);
			cf_json_kv_str(&j, "event", v[i].event);
			cf_json_kv_str(&j, "kind", v[i].kind);
			cf_json_kv_str(&j, "action", v[i].action);
			cf_json_kv_int(&j, "timeout_s", v[i].timeout_s);
			cf_json_kv_str(&j, "on_failure", v[i].is_abort ? "abort" : "warn");
			cf_json_kv_str(&j, "origin", v[i].origin);
			cf_json_obj_end(&j);
		}
		cf_json_arr_end(&j);
		cli_json_end(c, &j, &b);
	} else if (c->format == CLI_CSV) {
		printf("event,kind,action,timeout_s,on_failure,origin\n");
		for (size_t i = 0; i < n; i++) {
			char t[32];
			snprintf(t, sizeof(t), "%ld", v[i].timeout_s);
			cli_csv_field(stdout, v[i].event, false);
			cli_csv_field(stdout, v[i].kind, false);
			cli_csv_field(stdout, v[i].action, false);
			cli_csv_field(stdout, t, false);
			cli_csv_field(stdout, v[i].is_abort ? "abort" : "warn", false);
			cli_csv_field(stdout, v[i].origin, true);
		}
	} else if (n == 0) {
		printf("no hooks declared\n");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%-18s %-8s %-5s %3lds  %s  (%s)\n", v[i].event, v[i].kind,
			       v[i].is_abort ? "abort" : "warn", v[i].timeout_s, v[i].action,
			       v[i].origin);
	}
	free(v);
	return CF_OK;
}

/* Whether EVENT has a sql: or sql_file: hook, which runs on the database. */
static bool has_sql_hook(cli *c, const char *event)
{
	cf_hook_info *v = NULL;
	size_t n = cf_hooks_list(c->ctx, &v);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(v[i].event, event) == 0 && strncmp(v[i].kind, "sql", 3) == 0;
	free(v);
	return found;
}

static const struct option OPTIONS[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
const cli_action cli_hooks_actions[] = {
	{"list", NULL, CLI_V_NONE, CLI_FMTS_TABLE, NULL},
	{"test", NULL, CLI_V_EVENT, 0, NULL},
	{0},
};

const cli_opts cli_hooks_opts = {"h", OPTIONS};

cf_status cmd_hooks(cli *c, int argc, char **argv)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_hooks_opts.shortopts, cli_hooks_opts.longopts)) != -1)
		return ch == 'h' ? cli_help(c) : CF_ERR_USAGE;
	if (optind >= argc)
		return cli_usage(c, "missing action (list or test EVENT)");
	const char *action = argv[optind];
	bool is_test = strcmp(action, "test") == 0;
	if (!is_test && strcmp(action, "list") != 0)
		return cli_usage(c, "unknown action \"%s\" (list or test EVENT)", action);
	c->action = action;
	if (is_test && optind + 1 >= argc)
		return cli_usage(c, "hooks test needs an EVENT");
	if (optind + 1 + is_test < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind + 1 + is_test]);
	cf_status st = cli_load(c);
	if (st || !is_test)
		return st ? st : hooks_list(c);
	const char *event = argv[optind + 1];
	if (has_sql_hook(c, event))
		st = cli_target(c, NULL);
	if (!st)
		st = cf_hooks_test(c->ctx, event);
	if (c->format == CLI_JSON && !st) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_kv_str(&j, "event", event);
		cli_json_end(c, &j, &b);
	} else if (!st) {
		printf("ok  hooks for %s ran\n", event);
	}
	return st;
}
