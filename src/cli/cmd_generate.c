/* cmd_generate.c -- confiture migrate generate NAME --from-diff: the hazards of
 * the migration written, and the files. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_side(cf_json *j, const char *key, const cf_diff_result *d)
{
	cf_json_key(j, key);
	if (!d) {
		cf_json_null(j);
		return;
	}
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "message", d->message);
	cli_json_changes(j, d->changes, d->n_changes);
	cf_json_kv_strs(j, "notes", d->notes, d->n_notes);
	cf_json_obj_end(j);
}

static void json_result(cli *c, const cf_generate_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, !st);
	cf_json_kv_bool(&j, "from_diff", true);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_strs(&j, "created", r->created, r->n_created);
	json_side(&j, "up", r->up);
	json_side(&j, "down", r->down);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

static void text_result(cli *c, const cf_generate_result *r)
{
	if (r->up && r->up->n_changes) {
		printf("up (db/migrations -> db/schema):\n");
		for (size_t i = 0; i < r->up->n_changes; i++) {
			const cf_schema_change *ch = &r->up->changes[i];
			bool loud = ch->is_refused || ch->hazard >= CF_HAZARD_LOCK_RISKY;
			printf("  %-9s %s %s  %s[%s]%s\n", ch->action, ch->kind, ch->object,
			       loud ? cli_color(c, "warn") : "",
			       ch->is_refused ? "refused" : cf_hazard_name(ch->hazard),
			       loud ? cli_color(c, "reset") : "");
		}
		for (size_t i = 0; i < r->up->n_notes; i++)
			printf("note: %s\n", r->up->notes[i]);
	}
	for (size_t i = 0; i < r->n_created; i++)
		printf("created %s\n", r->created[i]);
	/* The down of an added enum value cannot remove it: the pair does not
	 * round-trip, and the .down.sql only says so in a comment. */
	if (r->success && r->down && r->down->n_refused) {
		printf("%swarning:%s the .down.sql cannot undo %zu step%s; write %s by hand:\n",
		       cli_color(c, "warn"), cli_color(c, "reset"), r->down->n_refused,
		       r->down->n_refused == 1 ? "" : "s", r->down->n_refused == 1 ? "it" : "them");
		for (size_t i = 0; i < r->down->n_changes; i++) {
			const cf_schema_change *ch = &r->down->changes[i];
			if (ch->is_refused)
				printf("  %s %s %s (%s)\n", ch->action, ch->kind, ch->object,
				       ch->note ? ch->note : "refused");
		}
	}
	if (r->success)
		printf("%s (%.2f s)\n", r->message, r->duration_s);
}

cf_status cli_generate_from_diff(cli *c, const cf_generate_opts *o)
{
	cf_generate_result *r = NULL;
	cf_status st = cf_migrate_generate_from_diff(c->ctx, o, &r);
	if (c->format == CLI_JSON)
		json_result(c, r, st);
	else
		text_result(c, r);
	cf_generate_result_free(r);
	return st;
}
