/* err.h - the project's one result type.
 *
 * Every fallible call returns av_rc; 0 is success. Calls that talk to the
 * outside world (network, files, SQLite, user input) also take errbuf
 * (AV_ERRBUF_SIZE bytes, may be NULL) and write one human-readable line
 * there: what failed, on which input, and what to do. Keep av_strerror()
 * in sync with the enum.
 */
#ifndef AV_ERR_H
#define AV_ERR_H

typedef enum {
    AV_OK = 0,
    AV_ENOMEM,  /* allocation failed                                   */
    AV_EINVAL,  /* bad argument or configuration value                 */
    AV_EPARSE,  /* malformed input: JSON, config file, date            */
    AV_ELIMIT,  /* input exceeded a configured ceiling                 */
    AV_EIO,     /* local I/O: file, SQLite                             */
    AV_ENET,    /* remote failure that may succeed if retried          */
    AV_EREMOTE, /* remote refused for good (HTTP 4xx other than 429)   */
    AV_EREJECT, /* record is invalid: quarantine it, keep going        */
    AV_RC_END   /* sentinel for table sizes, never returned            */
} av_rc;

#define AV_ERRBUF_SIZE 256

const char *av_strerror(av_rc rc);

/* Formats one line into errbuf (if not NULL), then returns rc. */
av_rc av_fail(char *errbuf, av_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
