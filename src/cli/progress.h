/* progress.h - a one-line progress bar on stderr (TTY only). */
#ifndef AV_PROGRESS_H
#define AV_PROGRESS_H

struct av_progress {
    int on;
    long total;
    long done;
    double started;    /* monotonic seconds */
    double last_draw;
};

void av_progress_start(struct av_progress *p, int on, long total);
/* extra: a short text shown after the counts (e.g. "1234 warnings"). */
void av_progress_step(struct av_progress *p, long done, const char *extra);
void av_progress_end(struct av_progress *p);

#endif
