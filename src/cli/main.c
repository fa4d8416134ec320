/* main.c - avalanche: the avalanche warning pipeline. Parses the command
 * line (options.c) and dispatches to a command; nothing else lives here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../sources/fetch.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*run)(struct av_cli *c);
} commands[] = {
    {"regions", av_cmd_regions},     {"run", av_cmd_run},
    {"backfill", av_cmd_run},        {"produce", av_cmd_run},
    {"serve", av_cmd_serve},         {"process", av_cmd_process},
    {"reprocess", av_cmd_reprocess}, {"export", av_cmd_export},
    {"datasets", av_cmd_datasets},   {"status", av_cmd_status},
    {"help-config", av_cmd_help_config},
};

/* What went to stdout must have arrived: a full disk or a closed pipe is
 * an error, not a silent exit 0 (`avalanche status > /dev/full`). */
static int stdout_done(int rc)
{
    int failed = fflush(stdout) != 0;

    failed |= ferror(stdout) != 0;
    if (failed) {
        fprintf(stderr, "avalanche: writing to stdout: %s\n",
                errno ? strerror(errno) : "write error");
        return rc == AV_EXIT_OK ? AV_EXIT_FAIL : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct av_cli c;
    int rc = av_cli_parse(&c, argc, argv);
    size_t i;

    if (rc >= 0)
        return stdout_done(rc);
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(c.cmd, commands[i].name) == 0)
            break;
    if (i == sizeof(commands) / sizeof(commands[0])) {
        fprintf(stderr, "avalanche: unknown command \"%s\" (see avalanche --help)\n", c.cmd);
        rc = AV_EXIT_USAGE;
    } else if (av_fetch_global_init() != AV_OK) {
        fprintf(stderr, "avalanche: cannot initialise libcurl\n");
        rc = AV_EXIT_FAIL;
    } else {
        av_cli_signals();
        rc = commands[i].run(&c);
        av_fetch_global_cleanup();
    }
    av_conf_free(&c.conf);
    return stdout_done(rc);
}
