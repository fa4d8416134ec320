/* progress.c - a one-line progress bar on stderr, redrawn at most 10 times
 * a second, with rate and ETA. Only used when stderr is a terminal. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void av_progress_start(struct av_progress *p, int on, long total)
{
    p->on = on && total > 0;
    p->total = total;
    p->done = 0;
    p->started = mono();
    p->last_draw = 0;
}

void av_progress_step(struct av_progress *p, long done, const char *extra)
{
    char bar[31];
    double now, el, eta;
    int fill;

    p->done = done;
    if (!p->on)
        return;
    now = mono();
    if (done < p->total && now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    fill = (int)(30.0 * (double)done / (double)p->total);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[30] = '\0';
    el = now - p->started;
    eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0;
    fprintf(stderr, "\r[%s] %ld/%ld %3d%%  %s  %ld:%02ld left ", bar, done, p->total,
            (int)(100 * done / p->total), extra ? extra : "", (long)eta / 60, (long)eta % 60);
    fflush(stderr);
}

void av_progress_end(struct av_progress *p)
{
    if (!p->on)
        return;
    fprintf(stderr, "\r%*s\r", 100, "");
    fflush(stderr);
}
