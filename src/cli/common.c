/* common.c - what several commands share: the stop flag and the signals
 * that set it, opening the state store with the configured sink, the run
 * lock, languages and pid checks. Prints its errors (it is CLI code). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sinks/sink.h"
#include "../sinks/store.h"
#include "cli.h"

volatile sig_atomic_t av_stop;

static void on_signal(int sig)
{
    (void)sig;
    av_stop = 1;
}

void av_cli_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* past `ulimit -f` a write fails with EFBIG (an error we report, with
     * the transaction rolled back) instead of killing the process */
    signal(SIGXFSZ, SIG_IGN);
}

int av_cli_open(struct av_cli *c, struct av_store **store, struct av_sink *sink)
{
    char err[AV_ERRBUF_SIZE];
    av_rc rc;

    *store = NULL;
    if (sink)
        sink->ops = NULL;
    if (av_store_open(store, av_conf_str(&c->conf, "store.path"), &c->conf, err) != AV_OK) {
        fprintf(stderr, "avalanche: %s\n", err);
        snprintf(c->run_error, sizeof(c->run_error), "%s", err);
        return AV_EXIT_FAIL;
    }
    if (sink == NULL)
        return AV_EXIT_OK;
    rc = av_sink_open(sink, &(struct av_sink_env){&c->conf, *store, &av_stop}, err);
    if (rc != AV_OK) {
        fprintf(stderr, "avalanche: %s: %s\n", av_conf_str(&c->conf, "store.sink"), err);
        snprintf(c->run_error, sizeof(c->run_error), "%s: %s", av_conf_str(&c->conf, "store.sink"),
                 err);
        av_store_close(*store);
        *store = NULL;
        return rc == AV_EINVAL ? AV_EXIT_USAGE : AV_EXIT_FAIL;
    }
    return AV_EXIT_OK;
}

int av_cli_need_db(struct av_cli *c)
{
    const char *path = av_conf_str(&c->conf, "store.path");
    struct stat st;

    if (stat(path, &st) == 0)
        return AV_EXIT_OK;
    if (errno == ENOENT)
        fprintf(stderr, "avalanche: no database at %s (run `avalanche run` first, or pass "
                        "--db PATH)\n", path);
    else
        fprintf(stderr, "avalanche: %s: %s\n", path, strerror(errno));
    return AV_EXIT_FAIL;
}

void av_cli_close(struct av_store *store, struct av_sink *sink)
{
    if (sink)
        av_sink_close(sink); /* before the store: the SQLite sink lives in it */
    av_store_close(store);
}

int av_cli_lock(const char *db, char *err)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s.lock", db);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        av_fail(err, AV_EIO, "cannot open lock file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        av_fail(err, AV_EIO, "another run is in progress on %s (lock %s); try again later",
                db, path);
        close(fd);
        return -1;
    }
    return fd;
}

int av_cli_pid_alive(long pid)
{
    /* Our own pid: a new run starts only when no other run of this process
     * is active (one at a time), so a row of ours still 'running' is stale. */
    if (pid == (long)getpid())
        return 0;
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int av_cli_langs(const struct av_cli *c, int langs[2])
{
    const char *l = av_conf_str(&c->conf, "plan.lang");

    if (strcmp(l, "both") == 0) {
        langs[0] = 1;
        langs[1] = 2;
        return 2;
    }
    langs[0] = atoi(l);
    return 1;
}
