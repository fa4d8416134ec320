/* cli.h - the command line: shared options and the subcommands.
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
    int json;
    int progress; /* -1 auto (TTY), 0 off, 1 on */
    int limit;
    int until_idle;
    int region_given, lang_given; /* --region / --lang on the command line */
    char args[512]; /* the command line, for run history */
};

extern volatile sig_atomic_t av_stop;

int av_cmd_regions(struct av_cli *c);
int av_cmd_run(struct av_cli *c);      /* run and backfill */
int av_cmd_reprocess(struct av_cli *c);
int av_cmd_export(struct av_cli *c);
int av_cmd_status(struct av_cli *c);
int av_cmd_process(struct av_cli *c); /* Kafka consumer group -> store */
int av_cmd_serve(struct av_cli *c);   /* scheduler + HTTP daemon */
extern const struct av_opt av_serve_opts[];

struct av_ingest;
struct av_cass;
/* With store.sink = cassandra: opens the sink and points ig at it.
 * *cass stays NULL for sqlite. On error prints why and returns non-zero. */
int av_cli_attach_sink(struct av_cli *c, struct av_ingest *ig, struct av_cass **cass);

/* True when a process with this pid exists (for stale run rows). */
int av_cli_pid_alive(long pid);

/* Parses plan.lang into langs[2]; returns the count. */
int av_cli_langs(const struct av_cli *c, int langs[2]);

#endif
