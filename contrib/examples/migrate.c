/*
 * migrate.c -- embed migrations in your own program: apply a project's
 * pending migrations through libconfiture, with a logger and hook callbacks.
 *
 *   cc migrate.c $(pkg-config --cflags --libs confiture) -o migrate
 *   ./migrate PROJECT_DIR [DATABASE_URL]
 *
 * Prints one line per hook event and a summary; exits 0 on success, else the
 * library's status name on stderr and 1.
 */
#include <confiture.h>
#include <stdio.h>
#include <string.h>

typedef struct counters {
	int log_lines;
	int before;
	int after;
} counters;

static void logger(void *ud, cf_log_level level, const char *msg)
{
	counters *c = ud;
	c->log_lines++;
	if (level <= CF_LOG_WARNING)
		fprintf(stderr, "%s: %s\n", level == CF_LOG_ERROR ? "error" : "warning", msg);
}

static int on_migration(void *ud, const cf_hook_event *ev)
{
	counters *c = ud;
	if (strcmp(ev->event, "before_migration") == 0)
		c->before++;
	else
		c->after++;
	printf("hook %s %s %s\n", ev->event, ev->migration_version, ev->migration_name);
	return 0; /* non-zero from a before_* event would stop the run */
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROJECT_DIR [DATABASE_URL]\n", argv[0]);
		return 2;
	}
	counters c = {0};
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_logger(ctx, logger, &c);
	cf_ctx_set_app_name(ctx, "migrate-example");
	cf_hook_register(ctx, "before_migration", on_migration, &c);
	cf_hook_register(ctx, "after_migration", on_migration, &c);
	if (argc > 2)
		cf_ctx_set_database_url(ctx, argv[2]);
	cf_migrate_result *r = NULL;
	cf_status st = cf_ctx_load(ctx, argv[1], NULL);
	if (st == CF_OK)
		st = cf_migrate_up(ctx, NULL, &r);
	if (st != CF_OK) {
		const cf_error_info *e = cf_last_error_info(ctx);
		fprintf(stderr, "failed (%s): %s\n", cf_status_name(st), e ? e->message : "?");
		if (e && e->file)
			fprintf(stderr, "  at %s:%d:%d\n", e->file, e->line, e->column);
	} else {
		printf("applied=%ld pending=%ld current=%s before=%d after=%d logged=%s\n",
		       r->n_applied, r->n_pending, r->current ? r->current : "-", c.before, c.after,
		       c.log_lines > 0 ? "yes" : "no");
	}
	cf_migrate_result_free(r);
	cf_ctx_free(ctx);
	return st == CF_OK ? 0 : 1;
}
