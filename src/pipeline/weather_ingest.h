/* weather_ingest.h - one Open-Meteo response body -> hourly values and
 * daily aggregates in the sink: the weather step every mode shares (run
 * and backfill, reprocess, the Kafka consumer), as ingest.h is for the
 * warnings.
 *
 * The request is known from its meta (store.h): the region, the endpoint
 * ("archive" | "forecast"), the local days from..to and the URL, whose
 * latitude/longitude lists name the points the answer's array follows (so
 * a stored response is read the same way whatever weather.grid_km says
 * today). The body is parsed strictly (sources/openmeteo.h); a body that
 * does not parse, or answers another request, is rejected whole into the
 * state store's `rejected` (stage "parse" or "validate") and nothing of it
 * reaches the sink. Hours whose every value is null (the archive's last
 * days, beyond a forecast's horizon) carry nothing and are not stored.
 * The rest go to weather_hourly (the dataset's rule: archive over
 * forecast, a null never over a value); then each local day from..to is
 * aggregated again from what the sink holds for the request's points
 * (transforms/weather_daily.h) into weather_daily.
 *
 * A day is complete when every point has an archive temperature for each
 * of its hours (23, 24 or 25): the caller clears the archive's holes for
 * complete days only, so the archive's delay makes later runs fetch the
 * rest again.
 *
 * Store and sink errors are returned (the caller rolls back); the caller
 * owns the transactions, as for ingest.h.
 */
#ifndef AV_WEATHER_INGEST_H
#define AV_WEATHER_INGEST_H

#include "../core/json.h"
#include "../model/weather.h"
#include "../sinks/sink.h"
#include "../sinks/store.h"

#define AV_WX_SOURCE "open-meteo" /* raw_response.source of weather bodies */

struct av_wx_ingest {
    struct av_store *store;
    struct av_sink *sink;
    struct av_json doc;
    struct av_wx_hour *hours, *back; /* parsed; read back for a day */
    size_t cap_back, nback;
    const struct av_point *pts;      /* the request's points, while reading back */
    int npts;
    int oom;                         /* a read back ran out of memory */
};

struct av_wx_result {
    int parse_failed;        /* whole body rejected */
    long hours_stored;       /* hourly records put */
    long days_stored;        /* daily records put */
    int64_t last_complete;   /* the latest complete day, -1 when none */
    unsigned char *complete; /* per day from..to: 1 when complete (malloc'd; free with
                                av_wx_result_free) */
    int ndays;
    const char *stage;
    char reason[AV_ERRBUF_SIZE];
};

av_rc av_wx_ingest_init(struct av_wx_ingest *ig, struct av_store *store, struct av_sink *sink,
                        const struct av_conf *c);
void av_wx_ingest_free(struct av_wx_ingest *ig);
void av_wx_result_free(struct av_wx_result *res);

av_rc av_wx_ingest_body(struct av_wx_ingest *ig, const struct av_raw_meta *m, int64_t raw_id,
                        const char *body, size_t len, av_ms now, struct av_wx_result *res,
                        char *errbuf);

#endif
