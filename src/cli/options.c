/* options.c - the command line and the configuration: usage text, option
 * parsing into struct av_cli with the precedence defaults < --config file
 * < AVALANCHE_* environment < flags, and `help-config`. Usage errors are
 * printed here and end in AV_EXIT_USAGE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/tz.h"
#include "../model/points.h"
#include "../pipeline/check.h"
#include "../pipeline/ingest.h"
#include "../sinks/cassandra.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "../sources/fetch.h"
#include "../sources/openmeteo.h"
#include "../sources/varsom.h"
#include "../transport/kafka.h"
#include "cli.h"

#ifndef AV_VERSION
#define AV_VERSION "dev"
#endif

const struct av_opt *const av_cli_opts[] = {
    av_varsom_opts, av_fetch_opts, av_store_opts, av_sink_opts, av_ingest_opts, av_kafka_opts,
    av_serve_opts, av_cassandra_opts, av_points_opts, av_openmeteo_opts, av_log_opts,
    av_check_opts, NULL,
};

const char av_cli_usage[] =
    "usage: avalanche COMMAND [options]\n"
    "\n"
    "Fetches Norway's avalanche warnings (NVE Varsom API), cleans them and\n"
    "stores them in a SQLite file. No server needed.\n"
    "\n"
    "commands:\n"
    "  regions [--points]           list the built-in forecast regions, or with\n"
    "                               --points their weather points (weather.grid_km,\n"
    "                               weather.max_points; --region picks regions)\n"
    "  run [--from D --to D]        plan, fetch, clean and store (default: since the\n"
    "                               last stored date minus an overlap, to today+2)\n"
    "  backfill --from D --to D     fetch history, with a progress bar on a terminal\n"
    "  reprocess                    rebuild the clean tables from stored raw responses\n"
    "  export DATASET --format jsonl|csv [--out FILE]\n"
    "                               DATASET is warnings, problems, advices,\n"
    "                               mountain_weather, weather, weather-hourly or\n"
    "                               features (one row per region and day for\n"
    "                               modelling, only what was known at publish\n"
    "                               time; see `avalanche datasets`)\n"
    "  export caaml|geojson --date D [--out FILE]\n"
    "                               a CAAMLv6 bulletin collection (EAWS; also\n"
    "                               --from/--to) or a GeoJSON map of the regions\n"
    "                               with the day's warnings; one --lang 1|2\n"
    "  datasets [--json|--markdown] every dataset's fields, types and meaning\n"
    "  status [--json] [--limit N]  per-region state, rejects and the last N runs\n"
    "                               (10; and the consumer group's lag with --brokers)\n"
    "  status --check               one Nagios-style line; exit 0 OK, 1 WARNING,\n"
    "                               2 CRITICAL, 3 UNKNOWN (also any usage error of\n"
    "                               --check: its 2 always means CRITICAL); settings\n"
    "                               check.* (avalanche help-config)\n"
    "  produce --brokers H:P [--topic T] [run's options]\n"
    "                               plan and fetch like run, then write one Kafka\n"
    "                               message per warning (streaming mode)\n"
    "  process --brokers H:P [--topic T] [--group G] [--until-idle]\n"
    "                               consume the topic in a consumer group, clean and\n"
    "                               store; rejects go to the dead-letter topic\n"
    "  serve [--listen ADDR:PORT]   daemon: runs at serve.schedule (Europe/Oslo times,\n"
    "                               catch-up at start) + dashboard, JSON API, /metrics\n"
    "  help-config                  every configuration key with default and help\n"
    "  version\n"
    "\n"
    "options:\n"
    "  --config FILE      configuration file (also AVALANCHE_CONFIG)\n"
    "  --db PATH          SQLite database (store.path; default avalanche.db)\n"
    "  --api-base URL     API base URL (api.base; also AVALANCHE_API_BASE)\n"
    "  --region SPEC      A (active, default), all, or ids: 3011,3022 (repeatable)\n"
    "  --lang 1|2|both    1 Norwegian (default), 2 English\n"
    "  --endpoint detail|simple\n"
    "  --sources LIST     varsom, weather, or varsom,weather (default; plan.sources):\n"
    "                     the warnings, Open-Meteo's weather per region, or both\n"
    "  --from D, --to D   dates YYYY-MM-DD (local Norwegian dates, inclusive)\n"
    "  --date D           one day: --from D --to D\n"
    "  --force            allow a --from before the first season (plan.earliest)\n"
    "  --concurrency N    transfers at once (fetch.concurrency)\n"
    "  --chunk-days N     days per request (plan.chunk_days)\n"
    "  -X KEY=VALUE       set any configuration key, e.g. -X fetch.retries=2\n"
    "  --format, --out    export format and file (default stdout); -o FILE = --out\n"
    "  --limit N          status: how many of the last runs to show (1-10000, 10)\n"
    "  --csv-raw          CSV cells exactly as stored: no leading ' before a\n"
    "                     cell starting with = + - @ (spreadsheet formula guard)\n"
    "  --as-of T          export warnings|problems|features as published at T\n"
    "                     (ISO 8601 with Z or an offset: 2023-03-01T16:00:00Z):\n"
    "                     per warning the latest publication not after T\n"
    "  --history          export warnings|problems: every publication kept, with\n"
    "                     version, first_seen and superseded_at\n"
    "  --json             status, regions and datasets as JSON\n"
    "  --brokers H:P      Kafka bootstrap servers (stream.brokers); -X kafka.KEY=V\n"
    "                     passes any librdkafka setting\n"
    "  --topic T, --group G   topic (avalanche.raw) and consumer group\n"
    "  --weather-topic T  the weather's topic (stream.weather_topic, avalanche.weather)\n"
    "  --until-idle       process: exit when the group has consumed the whole topic\n"
    "  --sink sqlite|cassandra   where clean warnings go (run, backfill, process,\n"
    "                     reprocess) or come from (export); store.sink\n"
    "  --cassandra-hosts H[:P][,H]  contact points (cassandra.hosts)\n"
    "  --keyspace K       Cassandra keyspace (cassandra.keyspace)\n"
    "  --progress / --no-progress   force the progress bar on or off\n"
    "  -q, --quiet / -v, --verbose\n"
    "  --log-format text|json   log lines as text (default) or one JSON object each\n"
    "                     (log.format)\n"
    "\n"
    "exit status: 0 ok, 1 something failed (see the summary), 2 usage or\n"
    "configuration error, 3 interrupted.\n";

static int need_arg(int argc, char **argv, int i)
{
    if (i + 1 >= argc || argv[i + 1] == NULL) {
        fprintf(stderr, "avalanche: option %s needs a value (see avalanche --help)\n", argv[i]);
        return 0;
    }
    return 1;
}

/* "YYYY-MM-DDTHH:MM[:SS[.fff]]" then "Z" or an offset "+HH:MM", "+HHMM",
 * "+HH" (or "-"): the UTC instant in ms. 0 (and a message naming opt)
 * when it is not one. */
static int parse_instant_opt(const char *opt, const char *v, int64_t *out)
{
    char naive[32];
    size_t n = strlen(v), z = 0;
    int oh = 0, om = 0, sign = 0;
    av_ms local;

    if (n >= 17) { /* find where the zone starts: after the time of day */
        z = 16;
        while (z < n && ((v[z] >= '0' && v[z] <= '9') || v[z] == ':' || v[z] == '.'))
            z++;
    }
    if (z > 0 && z < n) {
        const char *t = v + z;
        size_t tl = n - z;
        if (tl == 1 && (t[0] == 'Z' || t[0] == 'z'))
            sign = 1;
        else if ((t[0] == '+' || t[0] == '-') &&
                 ((tl == 3 && sscanf(t + 1, "%2d", &oh) == 1) ||
                  (tl == 5 && sscanf(t + 1, "%2d%2d", &oh, &om) == 2) ||
                  (tl == 6 && t[3] == ':' && sscanf(t + 1, "%2d:%2d", &oh, &om) == 2)) &&
                 oh <= 23 && om <= 59 && strspn(t + 1, "0123456789:") == tl - 1)
            sign = t[0] == '+' ? 1 : -1;
    }
    if (sign != 0 && z < sizeof(naive) - 3) {
        memcpy(naive, v, z);
        naive[z] = '\0';
        if (z == 16) /* no seconds */
            strcpy(naive + 16, ":00");
        if (av_local_stamp_parse(naive, strlen(naive), &local) == AV_OK) {
            *out = local - (int64_t)sign * (oh * 60 + om) * 60000;
            return 1;
        }
    }
    fprintf(stderr, "avalanche: %s \"%s\" is not an instant; use ISO 8601 with Z or an "
                    "offset, e.g. 2023-03-01T16:00:00Z or 2023-03-01T17:00+01:00\n", opt, v);
    return 0;
}

static int parse_date_opt(const char *opt, const char *v, int64_t *out)
{
    if (av_date_parse(v, out) != AV_OK) {
        fprintf(stderr, "avalanche: %s \"%s\" is not a date; use YYYY-MM-DD\n", opt, v);
        return 0;
    }
    return 1;
}

int av_cli_parse(struct av_cli *c, int argc, char **argv)
{
    static const struct {
        const char *flag, *key;
    } direct[] = {
        {"--db", "store.path"},           {"--api-base", "api.base"},
        {"--lang", "plan.lang"},          {"--endpoint", "api.endpoint"},
        {"--sources", "plan.sources"},
        {"--concurrency", "fetch.concurrency"}, {"--chunk-days", "plan.chunk_days"},
        {"--brokers", "stream.brokers"},  {"--topic", "stream.topic"},
        {"--weather-topic", "stream.weather_topic"},
        {"--log-format", "log.format"},
        {"--group", "stream.group"},      {"--sink", "store.sink"},
        {"--cassandra-hosts", "cassandra.hosts"}, {"--keyspace", "cassandra.keyspace"},
        {"--listen", "serve.listen"},
    };
    char err[AV_ERRBUF_SIZE];
    const char *config = getenv("AVALANCHE_CONFIG");
    char regions[1024] = "";
    int i, rc, verbose = 0, quiet = 0;
    size_t used = 0;
    int date_given = 0, range_given = 0; /* --date, --from/--to */

    memset(c, 0, sizeof(*c));
    c->from = c->to = INT64_MIN;
    c->as_of = INT64_MIN;
    c->progress = -1;
    c->limit = 10;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(av_cli_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? AV_EXIT_USAGE : AV_EXIT_OK;
    }
    c->cmd = argv[1];
    if (strcmp(c->cmd, "version") == 0 || strcmp(c->cmd, "--version") == 0) {
        printf("avalanche %s\n", AV_VERSION);
        return AV_EXIT_OK;
    }
    for (i = 1; i < argc && used < sizeof(c->args) - 1; i++)
        used += (size_t)snprintf(c->args + used, sizeof(c->args) - used, "%s%s", i > 1 ? " " : "",
                                 argv[i]);
    /* First pass: --config, so the file sits below env and flags. */
    for (i = 2; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && need_arg(argc, argv, i))
            config = argv[++i];
    if (av_conf_init(&c->conf, av_cli_opts, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        return AV_EXIT_USAGE;
    }
    if ((config && av_conf_load_file(&c->conf, config, err) != AV_OK) ||
        av_conf_load_env(&c->conf, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        av_conf_free(&c->conf);
        return AV_EXIT_USAGE;
    }
    rc = AV_EXIT_USAGE;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        int handled = 0;

        for (k = 0; k < sizeof(direct) / sizeof(direct[0]); k++) {
            if (strcmp(a, direct[k].flag) == 0) {
                char origin[64];
                if (!need_arg(argc, argv, i))
                    goto out;
                snprintf(origin, sizeof(origin), "option %s", a);
                if (av_conf_set(&c->conf, direct[k].key, argv[++i], origin, err) != AV_OK) {
                    fprintf(stderr, "avalanche: %s\n", err);
                    goto out;
                }
                handled = 1;
                c->lang_given |= strcmp(a, "--lang") == 0;
            }
        }
        if (handled)
            continue;
        if (strcmp(a, "--config") == 0) {
            i++;
        } else if (strcmp(a, "--region") == 0) {
            if (!need_arg(argc, argv, i))
                goto out;
            snprintf(regions + strlen(regions), sizeof(regions) - strlen(regions), "%s%s",
                     regions[0] ? "," : "", argv[++i]);
            c->region_given = 1;
        } else if (strcmp(a, "-X") == 0) {
            char *eq, kv[512];
            if (!need_arg(argc, argv, i))
                goto out;
            snprintf(kv, sizeof(kv), "%s", argv[++i]);
            eq = strchr(kv, '=');
            if (eq == NULL) {
                fprintf(stderr, "avalanche: -X wants KEY=VALUE, got \"%s\"\n", kv);
                goto out;
            }
            *eq = '\0';
            if (av_conf_set(&c->conf, kv, eq + 1, "option -X", err) != AV_OK) {
                fprintf(stderr, "avalanche: %s\n", err);
                goto out;
            }
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            if (!need_arg(argc, argv, i) ||
                !parse_date_opt(a, argv[i + 1], a[2] == 'f' ? &c->from : &c->to))
                goto out;
            i++;
            range_given = 1;
        } else if (strcmp(a, "--date") == 0) {
            if (!need_arg(argc, argv, i) || !parse_date_opt(a, argv[i + 1], &c->from))
                goto out;
            c->to = c->from;
            i++;
            date_given = 1;
        } else if (strcmp(a, "--format") == 0) {
            if (!need_arg(argc, argv, i))
                goto out;
            c->format = argv[++i];
        } else if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
            if (!need_arg(argc, argv, i))
                goto out;
            c->out = argv[++i];
        } else if (strcmp(a, "--limit") == 0) {
            if (!need_arg(argc, argv, i))
                goto out;
            char *end;
            long n;
            errno = 0;
            n = strtol(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || n < 1 || n > 10000) {
                fprintf(stderr, "avalanche: --limit wants a number of runs 1-10000, got \"%s\"\n",
                        argv[i]);
                goto out;
            }
            c->limit = (int)n;
        } else if (strcmp(a, "--until-idle") == 0) {
            c->until_idle = 1;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--markdown") == 0) {
            c->markdown = 1;
        } else if (strcmp(a, "--points") == 0) {
            c->points = 1;
        } else if (strcmp(a, "--check") == 0) {
            c->check = 1;
        } else if (strcmp(a, "--csv-raw") == 0) {
            c->csv_raw = 1;
        } else if (strcmp(a, "--history") == 0) {
            c->history = 1;
        } else if (strcmp(a, "--as-of") == 0) {
            if (!need_arg(argc, argv, i) || !parse_instant_opt(a, argv[i + 1], &c->as_of))
                goto out;
            i++;
        } else if (strcmp(a, "--force") == 0) {
            c->force = 1;
        } else if (strcmp(a, "--progress") == 0) {
            c->progress = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            c->progress = 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(av_cli_usage, stdout);
            rc = AV_EXIT_OK;
            goto out;
        } else if (a[0] != '-' && c->dataset == NULL) {
            c->dataset = a;
        } else {
            fprintf(stderr, "avalanche: unknown option \"%s\" (see avalanche --help)\n", a);
            goto out;
        }
    }
    if (regions[0] && av_conf_set(&c->conf, "plan.regions", regions, "option --region", err) !=
                          AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        goto out;
    }
    if (date_given && range_given) {
        fprintf(stderr, "avalanche: --date is --from D --to D: give one or the other\n");
        goto out;
    }
    if (c->from != INT64_MIN && c->to != INT64_MIN && c->from > c->to) {
        fprintf(stderr, "avalanche: --from is after --to\n");
        goto out;
    }
    av_log_set_level(quiet ? AV_LOG_WARN : verbose ? AV_LOG_DEBUG : AV_LOG_INFO);
    /* the journal stamps its lines itself: no second timestamp there */
    av_log_set_stamps(!isatty(STDERR_FILENO) && !av_log_stderr_is_journal());
    av_log_set_format(strcmp(av_conf_str(&c->conf, "log.format"), "json") == 0 ? AV_LOG_JSON
                                                                               : AV_LOG_TEXT);
    av_log_set_command(c->cmd);
    return -1;
out:
    av_conf_free(&c->conf);
    /* status --check speaks Nagios: 2 is CRITICAL there, a usage error UNKNOWN */
    for (int k = 1; rc == AV_EXIT_USAGE && k < argc; k++)
        if (strcmp(argv[k], "--check") == 0)
            rc = AV_CHECK_UNKNOWN;
    return rc;
}

int av_cmd_help_config(struct av_cli *c)
{
    printf("# avalanche configuration: [section] then key = value.\n"
           "# Environment: AVALANCHE_<SECTION>_<KEY>. Flags: -X section.key=value.\n");
    av_conf_describe(&c->conf, stdout);
    return AV_EXIT_OK;
}
