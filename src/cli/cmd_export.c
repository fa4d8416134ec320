/* cmd_export.c - `export DATASET --format jsonl|csv`: any dataset the
 * configured sink keeps (`avalanche datasets`), read back through the sink
 * and formatted by export.c. Writes to --out FILE atomically (a temp file
 * renamed on success) or to stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../model/regions.h"
#include "../sinks/export.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "cli.h"

static int each(void *ud, const struct av_warning *w)
{
    return av_export_warning(ud, w) != 0;
}

/* The query from --region, --lang, --from and --to; AV_EXIT_OK or usage. */
static int query_from_flags(const struct av_cli *cli, struct av_query *q, int *ids)
{
    char err[AV_ERRBUF_SIZE];
    int langs[2], nids;

    /* Export everything unless --region was given explicitly. */
    if (cli->region_given) {
        if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) !=
            AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            return AV_EXIT_USAGE;
        }
        q->regions = ids;
        q->nregions = nids;
    }
    q->from = cli->from == INT64_MIN ? INT64_MIN : cli->from;
    q->to = cli->to == INT64_MIN ? INT64_MAX : cli->to;
    q->lang = cli->lang_given && av_cli_langs(cli, langs) == 1 ? langs[0] : 0;
    return AV_EXIT_OK;
}

int av_cmd_export(struct av_cli *cli)
{
    struct av_store *store = NULL;
    struct av_sink sink;
    struct av_export e;
    struct av_query q = {0};
    const struct av_dataset *ds = cli->dataset ? av_dataset_find(cli->dataset) : NULL;
    char err[AV_ERRBUF_SIZE], tmp[4096];
    int ids[AV_MAX_REGIONS], code;
    enum av_format fmt;
    FILE *out = stdout;
    av_rc rc;

    if (ds == NULL) {
        fprintf(stderr, "avalanche: export needs a dataset: warnings, problems, advices or "
                        "mountain_weather\n");
        return AV_EXIT_USAGE;
    }
    if (cli->format == NULL || strcmp(cli->format, "jsonl") == 0)
        fmt = AV_FMT_JSONL;
    else if (strcmp(cli->format, "csv") == 0)
        fmt = AV_FMT_CSV;
    else {
        fprintf(stderr, "avalanche: --format \"%s\": use jsonl or csv\n", cli->format);
        return AV_EXIT_USAGE;
    }
    code = query_from_flags(cli, &q, ids);
    if (code != AV_EXIT_OK)
        return code;
    q.parts = ds->part | (ds->nest ? ds->nest->part : 0);
    code = av_cli_open(cli, &store, &sink);
    if (code != AV_EXIT_OK)
        return code;
    code = AV_EXIT_FAIL;
    if (!av_sink_keeps(&sink, ds)) {
        fprintf(stderr, "avalanche: the %s sink does not keep %s; export them from the SQLite "
                        "store (--sink sqlite)\n",
                av_sink_name(&sink), ds->name);
        code = AV_EXIT_USAGE;
        goto out;
    }
    if (cli->out && strcmp(cli->out, "-") != 0) {
        snprintf(tmp, sizeof(tmp), "%s.tmp.%d", cli->out, (int)getpid());
        out = fopen(tmp, "w");
        if (out == NULL) {
            fprintf(stderr, "avalanche: cannot write %s: %s\n", tmp, strerror(errno));
            goto out;
        }
    }
    av_export_init(&e, out, ds, fmt);
    rc = av_sink_read(&sink, &q, each, &e, err);
    if (rc == AV_OK || e.io_error)
        rc = av_export_finish(&e, err);
    else
        av_buf_free(&e.line); /* a failed read writes nothing more */
    if (out != stdout) {
        if (fclose(out) != 0 && rc == AV_OK)
            rc = av_fail(err, AV_EIO, "writing %s: %s", tmp, strerror(errno));
        if (rc == AV_OK && rename(tmp, cli->out) != 0)
            rc = av_fail(err, AV_EIO, "rename %s to %s: %s", tmp, cli->out, strerror(errno));
        if (rc != AV_OK)
            unlink(tmp);
    }
    if (rc != AV_OK) {
        fprintf(stderr, "avalanche: export failed: %s\n", err);
        goto out;
    }
    if (cli->out)
        fprintf(stderr, "avalanche: exported %ld %s to %s\n", e.rows, cli->dataset, cli->out);
    code = AV_EXIT_OK;
out:
    av_cli_close(store, &sink);
    return code;
}
