/* run_weather.h - the weather half of run, backfill and serve's runs (see
 * run_weather.c): plan, mark the archive's days as holes, fetch paced to
 * the budgets into the run's raw_out, summarise. Used by cmd_run.c only. */
#ifndef AV_RUN_WEATHER_H
#define AV_RUN_WEATHER_H

#include <stddef.h>

#include "../pipeline/raw_out.h"
#include "../sinks/store.h"
#include "../sources/fetch.h"
#include "cli.h"
#include "progress.h"

struct av_wx_run;

/* plan.sources names the weather / the warnings. */
int av_wx_wanted(const struct av_cli *cli);
int av_wx_varsom_wanted(const struct av_cli *cli);

/* Plans every selected region's weather requests (--from/--to when given).
 * Returns an exit code; on AV_EXIT_OK *out holds the plan (free with
 * av_wx_free) and *nunits its size. */
int av_wx_plan(struct av_cli *cli, struct av_store *store, struct av_wx_run **out,
               size_t *nunits);
/* Records the archive units' days as holes before anything is fetched. */
av_rc av_wx_mark_planned(struct av_wx_run *w, char *err);
/* One log line about the plan. */
void av_wx_describe(const struct av_wx_run *w, const char *cmd);
/* Fetches the plan into out, counting units into c and stats. Returns 0,
 * or -1 when the destination failed (fatal says why): the run fails. */
int av_wx_fetch(struct av_wx_run *w, struct av_raw_out *out, struct av_run_counts *c,
                struct av_progress *prog, struct av_fetch_stats *stats, char *fatal,
                size_t cap);
/* One summary line: planned, sent, stored, left for the next run and why. */
void av_wx_summary(const struct av_wx_run *w, char *line, size_t cap);
/* Whether the budget or the API's daily limit ended the weather part. */
int av_wx_stopped(const struct av_wx_run *w);
void av_wx_free(struct av_wx_run *w); /* accepts NULL */

#endif
