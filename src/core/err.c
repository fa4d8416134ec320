/* err.c - result codes and the one-line error buffer. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const names[AV_RC_END] = {
    [AV_OK] = "success",
    [AV_ENOMEM] = "out of memory",
    [AV_EINVAL] = "invalid argument",
    [AV_EPARSE] = "malformed input",
    [AV_ELIMIT] = "input exceeds a configured limit",
    [AV_EIO] = "local I/O error",
    [AV_ENET] = "network error (retryable)",
    [AV_EREMOTE] = "remote refused the request",
    [AV_EREJECT] = "record rejected",
};

const char *av_strerror(av_rc rc)
{
    if ((unsigned)rc >= AV_RC_END)
        return "unknown error";
    return names[rc];
}

av_rc av_fail(char *errbuf, av_rc rc, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL)
        return rc;
    va_start(ap, fmt);
    vsnprintf(errbuf, AV_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
    return rc;
}
