/* cmd_export.c - `export warnings|problems --format jsonl|csv`. Writes to
 * --out FILE atomically (a temp file renamed on success) or to stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sinks/cassandra.h"
#include "../sinks/export.h"
#include "../sinks/store.h"
#include "../sources/regions.h"
#include "cli.h"

static int each(void *ud, const struct av_warning *w)
{
    return av_export_warning(ud, w) != 0;
}

int av_cmd_export(struct av_cli *cli)
{
    struct av_store *store = NULL;
    struct av_export e;
    struct av_query q = {0};
    char err[AV_ERRBUF_SIZE], tmp[4096];
    int ids[AV_MAX_REGIONS], nids, langs[2], code = AV_EXIT_FAIL;
    enum av_dataset ds;
    enum av_format fmt;
    FILE *out = stdout;
    av_rc rc;

    if (cli->dataset == NULL || (strcmp(cli->dataset, "warnings") != 0 &&
                                 strcmp(cli->dataset, "problems") != 0)) {
        fprintf(stderr, "avalanche: export needs a dataset: warnings or problems\n");
        return AV_EXIT_USAGE;
    }
    ds = strcmp(cli->dataset, "warnings") == 0 ? AV_DS_WARNINGS : AV_DS_PROBLEMS;
    if (cli->format == NULL || strcmp(cli->format, "jsonl") == 0)
        fmt = AV_FMT_JSONL;
    else if (strcmp(cli->format, "csv") == 0)
        fmt = AV_FMT_CSV;
    else {
        fprintf(stderr, "avalanche: --format \"%s\": use jsonl or csv\n", cli->format);
        return AV_EXIT_USAGE;
    }
    /* Export everything unless --region was given explicitly. */
    if (cli->region_given) {
        if (av_regions_select(av_conf_str(&cli->conf, "plan.regions"), ids, &nids, err) !=
            AV_OK) {
            fprintf(stderr, "avalanche: %s\n", err);
            return AV_EXIT_USAGE;
        }
        q.regions = ids;
        q.nregions = nids;
    }
    q.from = cli->from == INT64_MIN ? INT64_MIN : cli->from;
    q.to = cli->to == INT64_MIN ? INT64_MAX : cli->to;
    q.lang = cli->lang_given && av_cli_langs(cli, langs) == 1 ? langs[0] : 0;
    if (av_store_open(&store, av_conf_str(&cli->conf, "store.path"), &cli->conf, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_FAIL;
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
    if (strcmp(av_conf_str(&cli->conf, "store.sink"), "cassandra") == 0) {
        struct av_cass *cass;
        rc = av_cass_open(&cass, &cli->conf, &av_stop, err);
        if (rc == AV_OK) {
            rc = av_cass_each_warning(cass, &q, each, &e, err);
            av_cass_close(cass);
        }
    } else {
        rc = av_store_each_warning(store, &q, each, &e, err);
    }
    if (rc == AV_OK)
        rc = av_export_finish(&e, err);
    else if (e.io_error)
        rc = av_export_finish(&e, err);
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
    av_store_close(store);
    return code;
}
