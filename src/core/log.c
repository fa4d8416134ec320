/* log.c - one-line log messages on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "tz.h"

static enum av_log_level max_level = AV_LOG_INFO;
static int stamps;

void av_log_set_level(enum av_log_level max)
{
    max_level = max;
}

void av_log_set_stamps(int on)
{
    stamps = on;
}

void av_log(enum av_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[1024], stamp[AV_STAMP_LEN];
    va_list ap;

    if (lvl > max_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (stamps) {
        av_stamp_format(av_now(), stamp);
        fprintf(stderr, "%s avalanche: %s: %s\n", stamp, names[lvl], line);
    } else {
        fprintf(stderr, "avalanche: %s: %s\n", names[lvl], line);
    }
}
