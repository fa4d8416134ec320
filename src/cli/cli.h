/* cli.h - the command line: shared options, helpers and the subcommands.
 *
 * main.c only dispatches; options.c parses the command line into struct
 * av_cli (defaults < --config file < AVALANCHE_* environment < flags);
 * common.c holds what several commands share (the stop flag and signals,
 * opening the store and the configured sink, the run lock, languages).
 *
 * Exit codes (all commands): 0 success; 1 the work ran but something
 * failed (a fetch unit failed or was rejected whole, a write failed);
 * 2 usage or configuration error (nothing was done); 3 interrupted.
 * Exiting lives here only: library code returns av_rc.
 */
#ifndef AV_CLI_H
#define AV_CLI_H

#include <signal.h>
#include <stdint.h>

#include "../core/conf.h"

enum { AV_EXIT_OK = 0, AV_EXIT_FAIL = 1, AV_EXIT_USAGE = 2, AV_EXIT_INTERRUPTED = 3 };

struct av_cli {
    struct av_conf conf;
    const char *cmd;
    int64_t from, to; /* days; INT64_MIN = not given */
    const char *format;
    const char *out;
    const char *dataset;
    int json, markdown;
    int csv_raw; /* --csv-raw: no formula guard in CSV text cells */
    int history; /* export --history: every publication of each warning */
    int64_t as_of; /* export --as-of: a UTC instant in ms; INT64_MIN = not given */
    int force;   /* --force: a --from before plan.earliest */
    int progress; /* -1 auto (TTY), 0 off, 1 on */
    int limit;
    int until_idle;
    int points; /* regions --points: the weather points instead of the catalog */
    int check;  /* status --check: one Nagios line, exit 0/1/2/3 (src/pipeline/check.h) */
    int region_given, lang_given; /* --region / --lang on the command line */
    char args[512]; /* the command line, for run history */
    /* set by av_cmd_run: whether the run got its row, and why it failed */
    int run_recorded;
    char run_error[AV_ERRBUF_SIZE + 64];
};

/* ---- options.c ---- */

extern const char av_cli_usage[];
/* Every configuration option table, NULL-terminated. */
extern const struct av_opt *const av_cli_opts[];
/* Parses argv into c (which it initialises). Returns -1 when a command
 * should run, else the exit code (help printed, or a usage error said). */
int av_cli_parse(struct av_cli *c, int argc, char **argv);

/* ---- common.c ---- */

/* Set by SIGINT/SIGTERM: long work stops cleanly at the next check. */
extern volatile sig_atomic_t av_stop;
void av_cli_signals(void);

struct av_store;
struct av_sink;
/* Opens the state store (store.path) and, when sink is not NULL, the sink
 * named by store.sink on it. On failure prints why, leaves nothing open
 * and returns the exit code (AV_EXIT_USAGE for configuration errors). */
int av_cli_open(struct av_cli *c, struct av_store **store, struct av_sink *sink);
/* For commands that only read (status, export, reprocess): a store.path
 * that does not exist is refused ("no database at PATH"), never created.
 * AV_EXIT_OK when it exists. */
int av_cli_need_db(struct av_cli *c);
void av_cli_close(struct av_store *store, struct av_sink *sink); /* sink may be NULL */

/* One run at a time per database: an flock on "<db>.lock" (released by the
 * kernel when the holder exits). Returns the fd, or -1 with err set. */
int av_cli_lock(const char *db, char *err);

/* True when a process with this pid exists (for stale run rows); false for
 * our own pid, whose earlier runs are over when a new one starts. */
int av_cli_pid_alive(long pid);
/* Parses plan.lang into langs[2]; returns the count. */
int av_cli_langs(const struct av_cli *c, int langs[2]);

/* ---- the commands ---- */

int av_cmd_regions(struct av_cli *c);
int av_cmd_run(struct av_cli *c); /* run, backfill and produce */
int av_cmd_reprocess(struct av_cli *c);
int av_cmd_export(struct av_cli *c);
int av_cmd_datasets(struct av_cli *c);
int av_cmd_status(struct av_cli *c);
int av_cmd_process(struct av_cli *c); /* Kafka consumer group -> sink */
int av_cmd_serve(struct av_cli *c);   /* scheduler + HTTP daemon */
int av_cmd_help_config(struct av_cli *c);
extern const struct av_opt av_serve_opts[];

#endif
