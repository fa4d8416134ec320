/* fetch.c - libcurl multi with concurrency cap, timeouts, body ceiling,
 * retries with backoff + jitter, Retry-After. See fetch.h. */
#include "fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/clock.h"

#ifndef AV_VERSION
#define AV_VERSION "dev"
#endif

const struct av_opt av_fetch_opts[] = {
    {"fetch", "concurrency", AV_OPT_INT, "4", 1, 64, NULL, "transfers at once"},
    {"fetch", "connect_timeout_ms", AV_OPT_INT, "10000", 100, 600000, NULL,
     "TCP/TLS connect timeout"},
    {"fetch", "timeout_ms", AV_OPT_INT, "60000", 100, 3600000, NULL,
     "whole-request timeout"},
    {"fetch", "max_body_bytes", AV_OPT_INT, "67108864", 1024, 1073741824, NULL,
     "largest response body accepted"},
    {"fetch", "retries", AV_OPT_INT, "4", 0, 20, NULL,
     "retries after the first attempt (network errors, timeouts, 429, 5xx)"},
    {"fetch", "backoff_ms", AV_OPT_INT, "1000", 0, 600000, NULL,
     "first retry delay; doubles each retry, with full jitter"},
    {"fetch", "backoff_max_ms", AV_OPT_INT, "30000", 0, 3600000, NULL,
     "longest delay between retries"},
    {"fetch", "retry_after_max_ms", AV_OPT_INT, "120000", 0, 3600000, NULL,
     "longest Retry-After waited for; a longer one fails the run's remaining requests "
     "(the next run fetches them)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct xfer {
    size_t index;
    CURL *h;
    struct av_buf body;
    int attempts;
    long long not_before; /* monotonic ms; 0 = now */
    int active;
    int done;
};

struct fetcher {
    const struct av_conf *conf;
    CURLM *multi;
    struct xfer *x;
    size_t n;
    long long backoff, backoff_max, retry_after_max;
    long long pause_until; /* monotonic ms: the server's Retry-After, for every transfer */
    long long pause_s;     /* that Retry-After in seconds */
    int retries;
    unsigned long long rng;
    struct av_fetch_stats *stats;
    int abandon; /* the done callback asked to stop */
    const char *wait_key;        /* the setting that caps waits, for messages */
    av_fetch_judge_fn judge;
    char stop_why[AV_ERRBUF_SIZE]; /* AV_FETCH_STOP: why nothing more is sent */
};

/* Start nothing new: a signal arrived or the caller gave up. */
static int halted(const struct fetcher *f, volatile sig_atomic_t *stop)
{
    return f->abandon || (stop && *stop);
}

av_rc av_fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? AV_OK : AV_ENOMEM;
}

void av_fetch_global_cleanup(void)
{
    curl_global_cleanup();
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct av_buf *b = ud;
    size_t n = size * nmemb;

    return av_buf_append(b, p, n) == AV_OK ? n : 0;
}

static unsigned long long rnd(struct fetcher *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static av_rc setup(struct fetcher *f, struct xfer *x, const char *url)
{
    CURL *h = curl_easy_init();

    if (h == NULL)
        return AV_ENOMEM;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->body);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     "avalanche/" AV_VERSION " (avalanche warning pipeline; libcurl)");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)av_conf_int(f->conf, "fetch.connect_timeout_ms"));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)av_conf_int(f->conf, "fetch.timeout_ms"));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)av_conf_int(f->conf, "fetch.max_body_bytes"));
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    x->h = h;
    return AV_OK;
}

static long delay_for(struct fetcher *f, int attempt, long retry_after_s)
{
    long long cap, d;

    if (retry_after_s > 0)
        return retry_after_s * 1000L; /* never above retry_after_max: see the caller */
    cap = f->backoff;
    for (int k = 1; k < attempt && cap < f->backoff_max; k++)
        cap *= 2;
    if (cap > f->backoff_max)
        cap = f->backoff_max;
    if (cap <= 0)
        return 0;
    /* full jitter, but never less than a tenth of the cap */
    d = cap / 10 + (long long)(rnd(f) % (unsigned long long)(cap - cap / 10 + 1));
    return (long)d;
}

/* The URL as messages name it: from the Varsom path on, and without a
 * query (a weather request's lists of points would crowd out the reason;
 * the caller names the request). Returns url itself or a static buffer:
 * fetches run on one thread. */
static const char *short_url(const char *url)
{
    static char name[160];
    const char *p = strstr(url, "/AvalancheWarningByRegion/"), *q;

    if (p)
        return p + 1;
    q = strchr(url, '?');
    if (q == NULL)
        return url;
    snprintf(name, sizeof(name), "%.*s", (int)(q - url), url);
    return name;
}

/* Bytes of url worth naming in a message: a query (a weather request's
 * lists of points) is left out; the caller names the request itself. */
static int url_len(const char *url)
{
    const char *q = strchr(url, '?');
    size_t n = q ? (size_t)(q - url) : strlen(url);

    return n > 120 ? 120 : (int)n;
}

av_rc av_fetch_all(const struct av_conf *conf, const char *const *urls, size_t n,
                   const struct av_fetch_policy *pol, av_fetch_done_fn done,
                   av_fetch_retry_fn on_retry, void *ctx, volatile sig_atomic_t *stop,
                   struct av_fetch_stats *stats, char *errbuf)
{
    struct fetcher f = {0};
    struct curl_slist *hdr = NULL;
    size_t remaining = n, next = 0;
    int active = 0, concurrency;
    av_rc rc = AV_OK;
    struct av_fetch_stats dummy = {0};

    f.conf = conf;
    f.n = n;
    f.stats = stats ? stats : &dummy;
    f.retries = (int)av_conf_int(conf, "fetch.retries");
    f.backoff = av_conf_int(conf, "fetch.backoff_ms");
    f.backoff_max = av_conf_int(conf, "fetch.backoff_max_ms");
    f.retry_after_max = av_conf_int(conf, "fetch.retry_after_max_ms");
    f.rng = (unsigned long long)av_mono_ms() * 2654435761ULL ^ (unsigned long long)getpid();
    if (f.rng == 0)
        f.rng = 88172645463325252ULL;
    concurrency = (int)av_conf_int(conf, "fetch.concurrency");
    f.wait_key = "fetch.retry_after_max_ms";
    if (pol && pol->concurrency > 0)
        concurrency = pol->concurrency;
    if (pol && pol->wait_max_ms > 0) {
        f.retry_after_max = pol->wait_max_ms;
        f.wait_key = pol->wait_max_key ? pol->wait_max_key : "its wait limit";
    }
    f.judge = pol ? pol->judge : NULL;
    if (n == 0)
        return AV_OK;
    f.x = calloc(n, sizeof(*f.x));
    f.multi = curl_multi_init();
    hdr = curl_slist_append(NULL, "Accept: application/json");
    if (f.x == NULL || f.multi == NULL || hdr == NULL) {
        rc = av_fail(errbuf, AV_ENOMEM, "out of memory starting %zu transfers", n);
        goto out;
    }
    curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);
    for (size_t i = 0; i < n; i++) {
        f.x[i].index = i;
        av_buf_init(&f.x[i].body, (size_t)av_conf_int(conf, "fetch.max_body_bytes"));
    }

    while (remaining > 0) {
        long long t = av_mono_ms(), wait_ms = 1000;
        struct CURLMsg *msg;
        int left, still, finished = 0;

        /* The server asked every client to wait longer than we may: what
         * has not started is deferred (it stays a hole for the next run). */
        if ((f.pause_until - t > f.retry_after_max || f.stop_why[0]) && !halted(&f, stop)) {
            for (size_t i = 0; i < n; i++) {
                struct xfer *x = &f.x[i];
                struct av_fetch_result r = {0};
                if (x->done || x->active)
                    continue;
                x->done = 1;
                r.rc = AV_ENET;
                r.attempts = x->attempts;
                if (f.stop_why[0])
                    snprintf(r.error, sizeof(r.error), "%.*s: not sent: %.150s",
                             url_len(short_url(urls[i])), short_url(urls[i]), f.stop_why);
                else
                    snprintf(r.error, sizeof(r.error),
                             "%.*s: deferred: the API asked to wait %lld s, longer than %s "
                             "(%lld ms); the next run fetches it",
                             url_len(short_url(urls[i])), short_url(urls[i]), f.pause_s,
                             f.wait_key, f.retry_after_max);
                f.stats->failures++;
                if (done(ctx, i, &r) != 0)
                    f.abandon = 1;
                remaining--;
                if (i >= next)
                    next = i + 1;
            }
            if (remaining == 0)
                break;
        }
        /* Start what may start (nothing while the server's Retry-After
         * runs): first due retries, then new URLs. */
        for (size_t i = 0; i < n && active < concurrency && !halted(&f, stop) &&
                           f.pause_until <= t;
             i++) {
            struct xfer *x = &f.x[i];
            if (x->done || x->active || x->attempts == 0 || x->not_before > t)
                continue;
            av_buf_reset(&x->body);
            curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdr);
            curl_multi_add_handle(f.multi, x->h);
            x->active = 1;
            x->attempts++;
            active++;
            f.stats->requests++;
        }
        while (next < n && active < concurrency && !halted(&f, stop) && f.pause_until <= t) {
            struct xfer *x = &f.x[next];
            if (x->done) { /* deferred */
                next++;
                continue;
            }
            if (setup(&f, x, urls[next]) != AV_OK) {
                rc = av_fail(errbuf, AV_ENOMEM, "out of memory creating a transfer");
                goto out;
            }
            curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdr);
            curl_multi_add_handle(f.multi, x->h);
            x->active = 1;
            x->attempts = 1;
            active++;
            next++;
            f.stats->requests++;
        }
        if (halted(&f, stop)) {
            /* Abort: everything not finished ends as interrupted. */
            for (size_t i = 0; i < n; i++) {
                struct xfer *x = &f.x[i];
                struct av_fetch_result r = {0};
                if (x->done)
                    continue;
                if (x->active)
                    curl_multi_remove_handle(f.multi, x->h);
                x->active = 0;
                x->done = 1;
                r.rc = AV_ENET;
                r.attempts = x->attempts;
                snprintf(r.error, sizeof(r.error), "%s: %s", short_url(urls[i]),
                         f.abandon ? "abandoned" : "interrupted");
                done(ctx, i, &r);
                remaining--;
            }
            break;
        }

        curl_multi_perform(f.multi, &still);
        while ((msg = curl_multi_info_read(f.multi, &left)) != NULL) {
            struct xfer *x;
            struct av_fetch_result r = {0};
            CURLcode cc;
            long status = 0;
            curl_off_t ra = 0;
            int retryable = 0, judged_wait = 0;
            curl_off_t dl = 0;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            cc = msg->data.result;
            curl_multi_remove_handle(f.multi, x->h);
            x->active = 0;
            active--;
            curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(x->h, CURLINFO_SIZE_DOWNLOAD_T, &dl);
            f.stats->bytes += (double)dl;
            r.http_status = status;
            r.attempts = x->attempts;
            if (cc == CURLE_OK && f.judge) {
                char why[200] = "";
                long long wms = 0;
                enum av_fetch_verdict v =
                    f.judge(ctx, x->index, status, x->body.data ? x->body.data : "",
                            x->body.len, &wms, why, sizeof(why));
                if (v == AV_FETCH_ACCEPT && !(status >= 200 && status < 300))
                    v = AV_FETCH_FINAL;
                if (v != AV_FETCH_DEFAULT && v != AV_FETCH_ACCEPT) {
                    snprintf(r.error, sizeof(r.error), "%.*s: %s",
                             url_len(short_url(urls[x->index])), short_url(urls[x->index]), why);
                    r.rc = v == AV_FETCH_RETRY || v == AV_FETCH_WAIT ? AV_ENET : AV_EREMOTE;
                    retryable = v == AV_FETCH_RETRY || v == AV_FETCH_WAIT;
                    if (v == AV_FETCH_WAIT) {
                        ra = (curl_off_t)((wms + 999) / 1000);
                        judged_wait = 1;
                    }
                    if (v == AV_FETCH_STOP)
                        snprintf(f.stop_why, sizeof(f.stop_why), "%s", why);
                    goto judged;
                }
            }
            if (cc == CURLE_OK && status >= 200 && status < 300) {
                r.rc = AV_OK;
                r.body = x->body.data ? x->body.data : "";
                r.len = x->body.len;
            } else if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
                r.rc = AV_ELIMIT;
                snprintf(r.error, sizeof(r.error),
                         "%s: response larger than fetch.max_body_bytes (%lld); use a smaller "
                         "plan.chunk_days or raise the limit",
                         short_url(urls[x->index]), av_conf_int(conf, "fetch.max_body_bytes"));
            } else if (cc == CURLE_OUT_OF_MEMORY) {
                /* what libcurl reports for a response header over its 100 KB
                 * limit: a broken server or proxy; retrying would not help */
                r.rc = AV_ENET;
                snprintf(r.error, sizeof(r.error),
                         "%s: the response's headers are larger than libcurl accepts (100 KB "
                         "per header) or memory ran out; not retried (a broken server or "
                         "proxy?)",
                         short_url(urls[x->index]));
            } else if (cc != CURLE_OK) {
                retryable = 1;
                r.rc = AV_ENET;
                snprintf(r.error, sizeof(r.error), "%s: %s", short_url(urls[x->index]),
                         curl_easy_strerror(cc));
            } else if (status == 429 || status >= 500) {
                retryable = 1;
                r.rc = AV_ENET;
                curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra);
                snprintf(r.error, sizeof(r.error), "%s: HTTP %ld", short_url(urls[x->index]),
                         status);
            } else {
                r.rc = AV_EREMOTE;
                snprintf(r.error, sizeof(r.error),
                         "%s: HTTP %ld (not retried; check the region, dates and api.base)",
                         short_url(urls[x->index]), status);
            }
        judged:
            finished = 1;
            if (ra > 0) { /* the server's wait applies to every transfer */
                long long until = av_mono_ms() + (long long)ra * 1000;
                if (until > f.pause_until) {
                    f.pause_until = until;
                    f.pause_s = (long long)ra;
                }
                if ((long long)ra * 1000 > f.retry_after_max) {
                    size_t l = strlen(r.error);
                    snprintf(r.error + l, sizeof(r.error) - l,
                             " with %s %lld s, longer than %s (%lld ms): not retried in this "
                             "run; the next run fetches it",
                             judged_wait ? "a wait of" : "Retry-After", (long long)ra,
                             f.wait_key, f.retry_after_max);
                    retryable = 0;
                }
            }
            if (retryable && x->attempts <= f.retries && !halted(&f, stop)) {
                long d = delay_for(&f, x->attempts, (long)ra);
                x->not_before = av_mono_ms() + d;
                f.stats->retries++;
                if (on_retry)
                    on_retry(ctx, x->index, r.error, d);
                continue;
            }
            if (retryable && x->attempts > 1) {
                size_t l = strlen(r.error);
                snprintf(r.error + l, sizeof(r.error) - l, " (gave up after %d attempts)",
                         x->attempts);
            }
            if (r.rc != AV_OK)
                f.stats->failures++;
            x->done = 1;
            if (done(ctx, x->index, &r) != 0)
                f.abandon = 1;
            remaining--;
            /* free memory of finished transfers early: flat RSS */
            curl_easy_cleanup(x->h);
            x->h = NULL;
            av_buf_free(&x->body);
        }
        if (remaining == 0)
            break;
        if (finished)
            continue; /* start the next transfers before waiting */
        /* Sleep until network activity or the next due retry. */
        t = av_mono_ms();
        for (size_t i = 0; i < n; i++) {
            struct xfer *x = &f.x[i];
            if (!x->done && !x->active && x->attempts > 0) {
                long long w = x->not_before - t;
                if (w < wait_ms)
                    wait_ms = w < 0 ? 0 : w;
            }
        }
        if (active == 0 && next >= n && wait_ms > 0) {
            av_sleep_ms(wait_ms > 200 ? 200 : (long)wait_ms);
            continue;
        }
        curl_multi_poll(f.multi, NULL, 0, (int)(wait_ms > 200 ? 200 : wait_ms), NULL);
    }
out:
    if (f.x) {
        for (size_t i = 0; i < n; i++) {
            if (f.x[i].h) {
                if (f.x[i].active)
                    curl_multi_remove_handle(f.multi, f.x[i].h);
                curl_easy_cleanup(f.x[i].h);
            }
            av_buf_free(&f.x[i].body);
        }
    }
    if (f.multi)
        curl_multi_cleanup(f.multi);
    curl_slist_free_all(hdr);
    free(f.x);
    return rc;
}
