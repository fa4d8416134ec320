/* log.h - one-line log messages on stderr.
 *
 * Lines look like `avalanche: warn: <message>`; with av_log_set_stamps(1)
 * (not a TTY, i.e. under systemd or cron) each line starts with a UTC
 * timestamp so logs can be read without a journal. Level filtering only.
 */
#ifndef AV_LOG_H
#define AV_LOG_H

enum av_log_level { AV_LOG_ERROR, AV_LOG_WARN, AV_LOG_INFO, AV_LOG_DEBUG };

void av_log_set_level(enum av_log_level max);
void av_log_set_stamps(int on);
void av_log(enum av_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define av_error(...) av_log(AV_LOG_ERROR, __VA_ARGS__)
#define av_warn(...) av_log(AV_LOG_WARN, __VA_ARGS__)
#define av_info(...) av_log(AV_LOG_INFO, __VA_ARGS__)
#define av_debug(...) av_log(AV_LOG_DEBUG, __VA_ARGS__)

#endif
