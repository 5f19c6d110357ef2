/* Unit tests: the progress tracker (src/core/progress.c) every medium feeds. */
#include "t.h"
#include "buf.h"
#include "progress.h"

#define MAX_EV 64

typedef struct seen {
	cf_progress_kind kind;
	char item[64];
	char phase[64];
	char run_id[37];
	long done, total;
	long long units_done, units_total, item_done, item_total, run_rows;
	double percent, eta_s, item_percent;
	int attempt, max_attempts;
	bool is_ok;
	char message[64];
} seen;

static seen ev[MAX_EV];
static int n_ev;

static void collect(void *ud, const cf_progress *p)
{
	(void)ud;
	/* Heartbeats and throttled updates depend on time: not counted here. */
	if (p->kind == CF_PROGRESS_UPDATE || n_ev >= MAX_EV)
		return;
	seen *s = &ev[n_ev++];
	*s = (seen){.kind = p->kind, .done = p->done, .total = p->total,
	            .units_done = p->units_done, .units_total = p->units_total,
	            .item_done = p->item_done, .item_total = p->item_total, .run_rows = p->run_rows,
	            .percent = p->percent, .eta_s = p->eta_s, .item_percent = p->item_percent,
	            .attempt = p->attempt, .max_attempts = p->max_attempts, .is_ok = p->is_ok};
	snprintf(s->item, sizeof(s->item), "%s", p->item ? p->item : "");
	snprintf(s->phase, sizeof(s->phase), "%s", p->phase ? p->phase : "");
	snprintf(s->run_id, sizeof(s->run_id), "%s", p->run_id ? p->run_id : "");
	snprintf(s->message, sizeof(s->message), "%s", p->message ? p->message : "");
}

static void test_run(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_progress(ctx, collect, NULL);
	n_ev = 0;
	cf_prog *p = cf_prog_new(ctx, "sync", "rows", "table");
	CHECK_INT(strlen(cf_prog_run_id(p)), 36, "a run has a UUID");
	cf_prog_plan(p, 3, 300);
	cf_prog_phase(p, "copying", -1);
	cf_prog_item_skip(p, "a", 100);
	cf_prog_item_begin(p, "b", 100);
	cf_prog_item_part(p, "b", "b#0", 40, 40, 400);
	cf_prog_item_part(p, "b", "b#0", 60, 60, 600);
	cf_prog_item_begin(p, "b", 100); /* another range of the same table */
	cf_prog_item_part(p, "b", "b#1", 30, 30, 300);
	cf_prog_retry(p, "b", "b#1", 2, 4, 1.5, "connection lost");
	cf_prog_item_part(p, "b", "b#1", 50, 50, 500);
	cf_prog_item_phase(p, "b", "building indexes");
	cf_prog_item_end(p, "b", true, NULL);
	cf_prog_item_begin(p, "c", 100);
	cf_prog_item_add(p, "c", 10, 10, 0);
	cf_prog_item_end(p, "c", false, "boom");
	cf_prog_free(p, false);
	cf_ctx_free(ctx);

	CHECK_INT(n_ev, 10, "ten reports besides updates");
	CHECK_INT(ev[0].kind, CF_PROGRESS_START, "START comes first");
	CHECK(ev[0].units_total == 300 && ev[0].total == 3, "START carries the planner's totals");
	CHECK(ev[0].percent == 0 && ev[0].eta_s == -1, "no ETA before any work");
	CHECK(ev[1].kind == CF_PROGRESS_PHASE && strcmp(ev[1].phase, "copying") == 0,
	      "a run's phase is labeled");
	CHECK(ev[2].kind == CF_PROGRESS_ITEM_START && strcmp(ev[2].item, "b") == 0 &&
	      ev[2].item_total == 100, "ITEM_START with the item's total");
	CHECK(ev[2].units_done == 100 && ev[2].done == 1,
	      "an item done by an earlier run counts toward the run");
	CHECK(ev[3].kind == CF_PROGRESS_RETRY && ev[3].attempt == 2 && ev[3].max_attempts == 4 &&
	      strcmp(ev[3].message, "connection lost") == 0, "RETRY says which attempt and why");
	CHECK(ev[3].item_done == 60 && ev[3].units_done == 160 && ev[3].run_rows == 60,
	      "a retry takes back the failed attempt's part, and only it");
	CHECK(ev[4].kind == CF_PROGRESS_PHASE && strcmp(ev[4].phase, "building indexes") == 0 &&
	      strcmp(ev[4].item, "b") == 0, "an item's phase is labeled");
	CHECK(ev[5].kind == CF_PROGRESS_ITEM_DONE && ev[5].is_ok && ev[5].item_done == 110,
	      "ITEM_DONE with what the item did");
	CHECK(ev[5].units_total == 310 && ev[5].item_percent == 100,
	      "an estimate gives way to the count when the item ends");
	CHECK(ev[5].eta_s >= 0, "an ETA once work is done");
	CHECK(ev[6].kind == CF_PROGRESS_ITEM_START && strcmp(ev[6].item, "c") == 0, "next item");
	CHECK(ev[7].kind == CF_PROGRESS_ERROR && strcmp(ev[7].message, "boom") == 0,
	      "a failed item reports ERROR with its message");
	CHECK(ev[8].kind == CF_PROGRESS_ITEM_DONE && !ev[8].is_ok, "then ITEM_DONE, not ok");
	CHECK(ev[9].kind == CF_PROGRESS_DONE && !ev[9].is_ok && ev[9].done == 3,
	      "DONE comes last and says how the run ended");
	CHECK(ev[9].percent < 100, "a failed run is not at 100 percent");
	bool same = true;
	for (int i = 1; i < n_ev; i++)
		same = same && strcmp(ev[i].run_id, ev[0].run_id) == 0;
	CHECK(same, "every report carries the run's id");
}

static void test_unknown_totals(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_progress(ctx, collect, NULL);
	n_ev = 0;
	cf_prog *p = cf_prog_new(ctx, "build", "statements", "file");
	cf_prog_phase(p, "parsing", 4);
	cf_prog_phase_step(p, 2);
	cf_prog_free(p, true);
	cf_ctx_free(ctx);
	CHECK_INT(n_ev, 3, "START, PHASE, DONE");
	CHECK(ev[0].kind == CF_PROGRESS_START && ev[0].units_total == -1 && ev[0].percent == -1,
	      "a report before the plan starts the run with unknown totals");
	CHECK(ev[2].kind == CF_PROGRESS_DONE && ev[2].is_ok && ev[2].percent == 100 &&
	      ev[2].eta_s == 0, "a successful run ends at 100 percent with nothing left");
}

static void test_silent(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_prog *p = cf_prog_new(ctx, "migrate", "migrations", "migration");
	cf_prog_plan(p, 1, 1);
	cf_prog_item_begin(p, "001_a", 1);
	cf_prog_item_end(p, "001_a", true, NULL);
	cf_prog_free(p, true);
	cf_prog_free(NULL, true);
	cf_prog_item_add(NULL, "x", 1, 1, 1);
	CHECK_STR(cf_prog_run_id(NULL), "", "a NULL tracker does nothing");
	cf_ctx_free(ctx);
	CHECK(true, "without a callback the tracker works silently");
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_run();
	test_unknown_totals();
	test_silent();
	return t_failures ? 1 : 0;
}
