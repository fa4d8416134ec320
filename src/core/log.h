/* log.h - one-line log messages on stderr.
 *
 * Text (the default): `avalanche: warn: <message>`; with
 * av_log_set_stamps(1) (not a TTY: cron, a file) each line starts with a
 * UTC timestamp so logs can be read without a journal. Under systemd's
 * journal (JOURNAL_STREAM names our stderr) no timestamp is written, the
 * journal keeps its own, and each line starts with the syslog priority
 * prefix (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug) so journalctl
 * shows the level.
 *
 * JSON (`log.format = json`, `--log-format json`, for log shippers): one
 * object per line, `{"time":"…Z","level":"warn","component":"weather",
 * "message":"…","fields":{"command":"run","pid":1234}}`; the component is
 * the message's leading `word: ` when it has one (most do: "run: ",
 * "weather: ", "process: "), else the command; the message is the rest,
 * JSON-escaped (control bytes as \uXXXX, well-formed UTF-8 as it is, any
 * other byte as U+FFFD: every line is valid JSON).
 *
 * Level filtering only. Nothing here fails: a line that does not fit 1 KiB
 * is cut, and a write error to stderr is ignored (there is nowhere to say
 * it).
 */
#ifndef AV_LOG_H
#define AV_LOG_H

#include "conf.h"

enum av_log_level { AV_LOG_ERROR, AV_LOG_WARN, AV_LOG_INFO, AV_LOG_DEBUG };
enum av_log_format { AV_LOG_TEXT, AV_LOG_JSON };

extern const struct av_opt av_log_opts[]; /* log.format */

void av_log_set_level(enum av_log_level max);
void av_log_set_stamps(int on);
void av_log_set_format(enum av_log_format f);
/* The command, for JSON's fields and the default component. */
void av_log_set_command(const char *cmd);
/* True when stderr is the journal's stream (JOURNAL_STREAM = dev:inode). */
int av_log_stderr_is_journal(void);

void av_log(enum av_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define av_error(...) av_log(AV_LOG_ERROR, __VA_ARGS__)
#define av_warn(...) av_log(AV_LOG_WARN, __VA_ARGS__)
#define av_info(...) av_log(AV_LOG_INFO, __VA_ARGS__)
#define av_debug(...) av_log(AV_LOG_DEBUG, __VA_ARGS__)

#endif
