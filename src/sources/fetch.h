/* fetch.h - polite, bounded HTTP GETs: the only user of libcurl.
 *
 * av_fetch_all() runs a list of URLs through libcurl's multi interface
 * with at most fetch.concurrency transfers at once, connect and total
 * timeouts, a body-size ceiling, and retries with exponential backoff and
 * full jitter on network errors, timeouts, truncated bodies, 429 and 5xx
 * Other 4xx are final and not retried. A Retry-After (429, 503) holds
 * every transfer, not only the one that got it: nothing starts until the
 * wait is over. A Retry-After longer than fetch.retry_after_max_ms is not
 * shortened: that URL fails at once, naming the Retry-After, and so does
 * every URL not started yet ("deferred"); transfers in flight finish. The
 * caller's holes (store.h) plan them again in the next run. Each URL ends exactly once in the done callback,
 * in completion order, from the calling thread.
 *
 * The callback may do slow work (store to SQLite); transfers in flight
 * simply wait. A non-zero *stop (set from a signal handler) makes the call
 * start nothing new and abort transfers in flight; those end as failures
 * with "interrupted".
 */
#ifndef AV_FETCH_H
#define AV_FETCH_H

#include <signal.h>
#include <stddef.h>

#include "../core/conf.h"
#include "../core/err.h"

extern const struct av_opt av_fetch_opts[];

struct av_fetch_result {
    av_rc rc;         /* AV_OK; AV_ENET (gave up after retries); AV_EREMOTE (4xx);
                         AV_ELIMIT (too large) */
    long http_status; /* last status seen, 0 if none */
    const char *body; /* AV_OK only: the body, NUL-terminated, valid during the call */
    size_t len;
    int attempts;
    char error[AV_ERRBUF_SIZE]; /* one line when rc != AV_OK */
};

/* Returns 0 to go on; non-zero when the caller cannot take more (its store
 * failed): nothing new starts, and the transfers not yet done end at once
 * as failures ("abandoned"). */
typedef int (*av_fetch_done_fn)(void *ctx, size_t index, const struct av_fetch_result *r);
/* Optional: called before each retry (for metrics and logs). */
typedef void (*av_fetch_retry_fn)(void *ctx, size_t index, const char *why, long delay_ms);

struct av_fetch_stats {
    long requests, retries, failures;
    double bytes;
};

/* What an API's answer means, when its own rules say more than the HTTP
 * status (Open-Meteo: a 429's reason names the window; a 200 can be cut). */
enum av_fetch_verdict {
    AV_FETCH_DEFAULT, /* the rules above */
    AV_FETCH_ACCEPT,  /* a usable body (2xx only) */
    AV_FETCH_RETRY,   /* retried with backoff, like a 5xx */
    AV_FETCH_WAIT,    /* every transfer waits *wait_ms (like a Retry-After), then retries;
                         longer than the policy's wait_max: deferred */
    AV_FETCH_STOP,    /* fails, and so does every URL not started yet: no more requests */
    AV_FETCH_FINAL    /* fails, not retried */
};
/* Called for each HTTP answer (any status) with its body; why gets one line
 * for every verdict but ACCEPT and DEFAULT. */
typedef enum av_fetch_verdict (*av_fetch_judge_fn)(void *ctx, size_t index, long status,
                                                   const char *body, size_t len,
                                                   long long *wait_ms, char *why, size_t cap);

/* Per call; NULL or zeros = the fetch.* settings. */
struct av_fetch_policy {
    int concurrency;          /* transfers at once */
    long long wait_max_ms;    /* longest wait (Retry-After, AV_FETCH_WAIT) */
    const char *wait_max_key; /* the setting named in messages */
    av_fetch_judge_fn judge;
};

av_rc av_fetch_all(const struct av_conf *conf, const char *const *urls, size_t n,
                   const struct av_fetch_policy *pol, av_fetch_done_fn done,
                   av_fetch_retry_fn on_retry, void *ctx, volatile sig_atomic_t *stop,
                   struct av_fetch_stats *stats, char *errbuf);

/* Global init/cleanup; call once from main. */
av_rc av_fetch_global_init(void);
void av_fetch_global_cleanup(void);

#endif
