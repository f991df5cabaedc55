/*
 * harness_posix.c - the runner's calls to a POSIX system (harness_os.h):
 * each test in a forked child that alarm(2) ends at its timeout.
 */
#include "harness_os.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

int t_remove_tree(const char *path)
{
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int t_make_temp_dir(char *out, size_t n, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, n, "%s/smmap-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (!mkdtemp(out))
        return -1;
    /* Resolved, so that paths match what the kernel reports in /proc. */
    char real[PATH_MAX];
    if (realpath(out, real))
        snprintf(out, n, "%s", real);
    return 0;
}

int t_os_make_dir(const char *path)
{
    return mkdir(path, 0700);
}

int t_os_enter_dir(const char *path)
{
    return chdir(path);
}

int t_os_run_child(const struct t_case *c, size_t index, const char *base, double timeout,
                   char *why, size_t n)
{
    (void)index; /* the forked child has the test and its paths already */
    (void)base;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* stdout carries the TAP stream: what the test prints goes to
         * stderr. */
        dup2(2, 1);
        unsigned secs = (unsigned)(timeout + 0.999);
        alarm(secs ? secs : 1);
        exit(t_run_here(c));
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            snprintf(why, n, "waitpid: %s", strerror(errno));
            return -1;
        }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WTERMSIG(st) == SIGALRM)
        snprintf(why, n, "timed out after %.0f s", timeout);
    else
        snprintf(why, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return -1;
}

double t_os_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
