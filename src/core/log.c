/* log.c - one-line log messages on stderr, text or JSON. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tz.h"

const struct av_opt av_log_opts[] = {
    {"log", "format", AV_OPT_ENUM, "text", 0, 0, "text|json",
     "log lines on stderr: text, or one JSON object per line for log shippers"},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

static enum av_log_level max_level = AV_LOG_INFO;
static enum av_log_format format = AV_LOG_TEXT;
static int stamps, journal;
static const char *command = "avalanche";

void av_log_set_level(enum av_log_level max)
{
    max_level = max;
}

void av_log_set_stamps(int on)
{
    stamps = on;
}

void av_log_set_format(enum av_log_format f)
{
    format = f;
}

void av_log_set_command(const char *cmd)
{
    command = cmd && cmd[0] ? cmd : "avalanche";
}

int av_log_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return 0;
    journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
    return journal;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if
 * none (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xBF;

    if (len == 0 || len > n)
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Appends s[0..n) JSON-escaped to out (cap bytes, always terminated):
 * quotes, backslashes and control bytes escaped, UTF-8 kept, any other
 * byte replaced by U+FFFD so the line is always valid JSON. */
static size_t json_esc(char *out, size_t cap, size_t k, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = u[i];
        size_t len;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            k += (size_t)snprintf(out + k, cap - k, "\\u%04x", c);
        } else if (c < 0x80) {
            out[k++] = (char)c;
        } else if ((len = utf8_len(u + i, n - i)) > 0) {
            memcpy(out + k, u + i, len);
            k += len;
            i += len - 1;
        } else {
            memcpy(out + k, "\xef\xbf\xbd", 3); /* U+FFFD */
            k += 3;
        }
    }
    out[k] = '\0';
    return k;
}

/* The leading "word: " of a message (lowercase letters, digits, '-'). */
static size_t component_len(const char *m)
{
    size_t n = 0;

    while ((m[n] >= 'a' && m[n] <= 'z') || (m[n] >= '0' && m[n] <= '9') || m[n] == '-')
        n++;
    return n > 0 && n < 32 && m[n] == ':' && m[n + 1] == ' ' ? n : 0;
}

void av_log(enum av_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7};
    char line[1024], stamp[AV_STAMP_LEN], out[2600];
    va_list ap;

    if (lvl > max_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (format == AV_LOG_JSON) {
        size_t c = component_len(line), k;
        const char *msg = c ? line + c + 2 : line;
        av_stamp_format(av_now(), stamp);
        k = (size_t)snprintf(out, sizeof(out), "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"",
                             stamp, names[lvl]);
        k = c ? json_esc(out, sizeof(out), k, line, c)
              : json_esc(out, sizeof(out), k, command, strlen(command));
        k += (size_t)snprintf(out + k, sizeof(out) - k, "\",\"message\":\"");
        k = json_esc(out, sizeof(out), k, msg, strlen(msg));
        k += (size_t)snprintf(out + k, sizeof(out) - k, "\",\"fields\":{\"command\":\"");
        k = json_esc(out, sizeof(out), k, command, strlen(command));
        snprintf(out + k, sizeof(out) - k, "\",\"pid\":%ld}}", (long)getpid());
        fprintf(stderr, "%s\n", out);
    } else if (journal) {
        fprintf(stderr, "<%d>avalanche: %s: %s\n", prio[lvl], names[lvl], line);
    } else if (stamps) {
        av_stamp_format(av_now(), stamp);
        fprintf(stderr, "%s avalanche: %s: %s\n", stamp, names[lvl], line);
    } else {
        fprintf(stderr, "avalanche: %s: %s\n", names[lvl], line);
    }
}
