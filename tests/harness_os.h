/*
 * harness_os.h - what the runner (harness.c) asks of the operating system:
 * directories, a process per test and its timeout, a clock.
 * harness_posix.c implements it for POSIX systems and harness_win32.c for
 * Windows (tests/meson.build picks one); harness.c includes no operating
 * system's header. Internal to the harness; the suites see harness.h only.
 */
#ifndef SMMAP_TEST_HARNESS_OS_H
#define SMMAP_TEST_HARNESS_OS_H

#include "harness.h"

#include <stddef.h>

/* harness.c's, for the child a POSIX runner forks: runs test c in this
 * process (the suite's init, the body, fini) in the test's directory; the
 * exit status. */
int t_run_here(const struct t_case *c);

/* mkdir (owner only) and chdir: 0, or -1 with errno set. */
int t_os_make_dir(const char *path);
int t_os_enter_dir(const char *path);

/* Runs test c in a child process, with a working directory of its own under
 * base (the runner has set it up), and ends it after timeout seconds.
 * index is c's place among the registered tests, sorted (t_main's --child
 * argument). Returns the child's exit status, or -1 with how it died
 * ("timed out after 60 s", "killed by signal 11 (...)") in why[n]. */
int t_os_run_child(const struct t_case *c, size_t index, const char *base, double timeout,
                   char *why, size_t n);

/* Seconds on a monotonic clock, for the time a test took. */
double t_os_now(void);

#endif
