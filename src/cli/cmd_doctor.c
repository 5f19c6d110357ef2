/* cmd_doctor.c -- confiture doctor */
#include "cli.h"

#include <stdio.h>

static void print_setting(void *ud, const char *key, const char *value, const char *origin)
{
	(void)ud;
	printf("  %-32s %-28s %s\n", key, *value ? value : "-", origin);
}

static void json_setting(void *ud, const char *key, const char *value, const char *origin)
{
	cf_json *j = ud;
	cf_json_key(j, key);
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "value", value);
	cf_json_kv_str(j, "origin", origin);
	cf_json_obj_end(j);
}

static void doctor_json(cli *c, const cf_doctor_report *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, st == CF_OK);
	cf_json_kv_str(&j, "environment", r->env);
	cf_json_kv_str(&j, "project_dir", r->project_dir);
	cf_json_kv_str(&j, "project_file", r->project_file);
	cf_json_key(&j, "settings");
	cf_json_obj_begin(&j);
	cf_ctx_visit_settings(c->ctx, json_setting, &j);
	cf_json_obj_end(&j);
	cf_json_key(&j, "connection");
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "target", r->target);
	cf_json_kv_bool(&j, "embedded", r->is_embedded);
	cf_json_kv_bool(&j, "connected", r->is_connected);
	if (r->is_connected) {
		cf_json_kv_num(&j, "connect_ms", r->connect_ms);
		cf_json_kv_str(&j, "server_version", r->server_version);
		cf_json_kv_int(&j, "server_version_num", r->server_version_num);
		cf_json_kv_str(&j, "user", r->current_user);
		cf_json_kv_bool(&j, "superuser", r->is_superuser);
	}
	cf_json_obj_end(&j);
	if (r->is_connected) {
		cf_json_key(&j, "postgres_fdw");
		cf_json_obj_begin(&j);
		cf_json_kv_bool(&j, "available", r->has_fdw_available);
		cf_json_kv_bool(&j, "installed", r->has_fdw_installed);
		cf_json_obj_end(&j);
		cf_json_key(&j, "ledger");
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "table", r->tracking_table);
		cf_json_kv_bool(&j, "exists", r->has_ledger);
		cf_json_kv_int(&j, "applied", r->n_applied);
		cf_json_kv_str(&j, "current", r->current_version);
		cf_json_kv_str(&j, "error", r->ledger_error);
		cf_json_obj_end(&j);
	}
	cli_json_end(c, &j, &b);
}

static void doctor_text(cli *c, const cf_doctor_report *r)
{
	const char *ok = cli_color(c, "ok"), *reset = cli_color(c, "reset");
	(void)ok;
	printf("environment  %s\n", r->env);
	printf("project      %s\n", r->project_dir);
	printf("project file %s\n", r->project_file ? r->project_file : "(none)");
	printf("settings:\n");
	cf_ctx_visit_settings(c->ctx, print_setting, NULL);
	printf("connection   %s%s\n", r->target ? r->target : "(none)",
	       r->is_embedded ? " (embedded)" : "");
	if (!r->is_connected) {
		printf("connected    no%s\n", reset);
		return;
	}
	printf("connected    yes (%.1f ms)\n", r->connect_ms);
	printf("server       %s\n", r->server_version);
	printf("user         %s%s\n", r->current_user, r->is_superuser ? " (superuser)" : "");
	printf("postgres_fdw %s%s\n", r->has_fdw_available ? "available" : "not available",
	       r->has_fdw_installed ? ", installed" : "");
	if (r->ledger_error)
		printf("ledger       %s: present, not readable: %s\n", r->tracking_table,
		       r->ledger_error);
	else if (r->has_ledger)
		printf("ledger       %s: %ld applied, current %s\n", r->tracking_table, r->n_applied,
		       r->current_version ? r->current_version : "(none)");
	else
		printf("ledger       %s: absent (created by the first migrate up)\n",
		       r->tracking_table);
}

static const struct option OPTIONS[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
const cli_opts cli_doctor_opts = {"h", OPTIONS};

cf_status cmd_doctor(cli *c, int argc, char **argv)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_doctor_opts.shortopts, cli_doctor_opts.longopts)) != -1)
		return ch == 'h' ? cli_help(c) : CF_ERR_USAGE;
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	cf_status st = cli_load(c);
	if (st)
		return st;
	cf_doctor_report *r = NULL;
	st = cf_doctor(c->ctx, &r);
	if (c->format == CLI_JSON)
		doctor_json(c, r, st);
	else
		doctor_text(c, r);
	cf_doctor_report_free(r);
	return st;
}
