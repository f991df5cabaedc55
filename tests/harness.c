/*
 * harness.c - the test runner (see harness.h): the registry TEST() fills,
 * the checks, and the loop that runs each test in a process of its own and
 * writes TAP.
 *
 * The runner makes a directory per test, BASE/d (the test's working
 * directory) beside BASE/report, where the test's process writes its
 * failure messages and skip reason as it goes: what a crashed or killed
 * test said before it died still reaches the log. The runner removes BASE
 * after the test, whatever became of it.
 *
 * What differs by OS (directories, starting and waiting for the test's
 * process, the clock) is behind harness_os.h, in harness_posix.c and
 * harness_win32.c.
 */
#include "harness.h"
#include "harness_os.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_SKIP = 77 };

static struct t_case **cases;
static size_t ncases;
static struct t_suite **suites;
static size_t nsuites;

void t_register(struct t_case *c)
{
    struct t_case **n = realloc(cases, (ncases + 1) * sizeof *n);
    if (!n)
        abort();
    cases = n;
    cases[ncases++] = c;
}

void t_register_suite(struct t_suite *s)
{
    struct t_suite **n = realloc(suites, (nsuites + 1) * sizeof *n);
    if (!n)
        abort();
    suites = n;
    suites[nsuites++] = s;
}

/* ------------------------------------------------- the running test */

static const struct t_case *current;
static char test_dir[PATH_MAX + 8], report_path[PATH_MAX + 8];
static atomic_int failures;
/* Set while the test's own thread runs its body: a fatal check there
 * jumps back to run fini; one in another thread ends the process. */
static _Thread_local jmp_buf *jump;

const char *t_dir(void)
{
    return test_dir;
}

const char *t_name(void)
{
    return current ? current->name : "";
}

/* Append one line to the report, which the runner relays as TAP
 * diagnostics; opened per line so that nothing is lost when the test dies
 * right after. Outside the runner (or with no report) to stderr. */
static void report(const char *kind, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    FILE *f = report_path[0] ? fopen(report_path, "a") : NULL;
    if (f) {
        fprintf(f, "%s%s\n", kind, msg);
        fclose(f);
    } else {
        fprintf(stderr, "%s%s%s%s\n", kind, current ? current->name : "",
                current ? ": " : "", msg);
    }
}

static void say(const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(kind, fmt, ap);
    va_end(ap);
}

static void failed(bool fatal)
{
    atomic_fetch_add(&failures, 1);
    if (!fatal)
        return;
    if (!current)
        abort(); /* a program using the checks outside the runner */
    if (jump)
        longjmp(*jump, EXIT_FAIL);
    fflush(NULL);
    _Exit(EXIT_FAIL);
}

struct t_val t_signed(intmax_t v)
{
    return (struct t_val){.kind = T_SIGNED, .i = v};
}

struct t_val t_unsigned(uintmax_t v)
{
    return (struct t_val){.kind = T_UNSIGNED, .u = v};
}

struct t_val t_pointer(const volatile void *p)
{
    return (struct t_val){.kind = T_POINTER, .u = (uintptr_t)p};
}

/* -1, 0, 1 as a < b, a == b, a > b, by mathematical value. */
static int compare(struct t_val a, struct t_val b)
{
    if (a.kind == T_SIGNED && b.kind == T_SIGNED)
        return (a.i > b.i) - (a.i < b.i);
    if (a.kind == T_SIGNED && a.i < 0)
        return -1;
    if (b.kind == T_SIGNED && b.i < 0)
        return 1;
    uintmax_t x = a.kind == T_SIGNED ? (uintmax_t)a.i : a.u;
    uintmax_t y = b.kind == T_SIGNED ? (uintmax_t)b.i : b.u;
    return (x > y) - (x < y);
}

static void format_val(char *out, size_t n, struct t_val v)
{
    if (v.kind == T_SIGNED)
        snprintf(out, n, "%jd", v.i);
    else if (v.kind == T_POINTER)
        snprintf(out, n, "%#jx", v.u);
    else
        snprintf(out, n, "%ju", v.u);
}

/* "file:line: expr: details[: message]" */
static void fail_line(bool fatal, const char *file, int line, const char *expr,
                      const char *details, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    const char *msg = buf[0] == ' ' ? buf + 1 : buf;
    const char *base = strrchr(file, '/');
    say("# ", "%s:%d: %s%s%s%s%s", base ? base + 1 : file, line, expr, details[0] ? ": " : "",
        details, msg[0] ? ": " : "", msg);
    failed(fatal);
}

bool t_check(bool ok, bool fatal, const char *file, int line, const char *expr,
             const char *fmt, ...)
{
    if (ok)
        return true;
    va_list ap;
    va_start(ap, fmt);
    fail_line(fatal, file, line, expr, "", fmt, ap);
    va_end(ap);
    return false;
}

bool t_check_cmp(struct t_val a, enum t_op op, struct t_val b, bool fatal, const char *file,
                 int line, const char *expr, const char *fmt, ...)
{
    int c = compare(a, b);
    bool ok = op == T_EQ ? c == 0 : op == T_NE ? c != 0 : op == T_LT ? c < 0
            : op == T_LE ? c <= 0 : op == T_GT ? c > 0 : c >= 0;
    if (ok)
        return true;
    char x[32], y[32], details[80];
    format_val(x, sizeof x, a);
    format_val(y, sizeof y, b);
    snprintf(details, sizeof details, "%s vs %s", x, y);
    va_list ap;
    va_start(ap, fmt);
    fail_line(fatal, file, line, expr, details, fmt, ap);
    va_end(ap);
    return false;
}

bool t_check_str(const char *a, const char *b, bool equal, bool fatal, const char *file,
                 int line, const char *expr, const char *fmt, ...)
{
    bool same = a && b ? strcmp(a, b) == 0 : a == b;
    if (same == equal)
        return true;
    char details[600];
    snprintf(details, sizeof details, "\"%.280s\" vs \"%.280s\"", a ? a : "(null)",
             b ? b : "(null)");
    va_list ap;
    va_start(ap, fmt);
    fail_line(fatal, file, line, expr, details, fmt, ap);
    va_end(ap);
    return false;
}

void t_skip(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    say("SKIP ", "%s", buf[0] == ' ' ? buf + 1 : buf);
    if (jump)
        longjmp(*jump, EXIT_SKIP);
    fflush(NULL);
    _Exit(EXIT_SKIP);
}

/* ------------------------------------------------------ directories */

/* test_dir and report_path inside BASE. */
static void set_paths(const char *base)
{
    snprintf(test_dir, sizeof test_dir, "%s/d", base);
    snprintf(report_path, sizeof report_path, "%s/report", base);
}

/* BASE, BASE/d and the report path; 0 or -1. */
static int make_dirs(char *base, size_t n)
{
    if (t_make_temp_dir(base, n, "test") != 0)
        return -1;
    set_paths(base);
    return t_os_make_dir(test_dir);
}

/* ---------------------------------------------------- running tests */

static const struct t_suite *suite_of(const struct t_case *c)
{
    for (size_t i = 0; i < nsuites; i++)
        if (strcmp(suites[i]->name, c->suite) == 0)
            return suites[i];
    return NULL;
}

static double timeout_of(const struct t_case *c)
{
    const struct t_suite *s = suite_of(c);
    double t = c->opts.timeout > 0 ? c->opts.timeout
             : s && s->opts.timeout > 0 ? s->opts.timeout : 60;
    const char *scale = getenv("SMMAP_TEST_TIMEOUT_SCALE");
    if (scale && atof(scale) > 0)
        t *= atof(scale);
    return t;
}

/* Runs one test in this process: init, body, fini; the exit status. */
int t_run_here(const struct t_case *c)
{
    /* volatile: read again after a longjmp back to this frame */
    const struct t_suite *volatile s = suite_of(c);
    current = c;
    atomic_store(&failures, 0);
    if (t_os_enter_dir(test_dir) != 0) {
        say("# ", "chdir %s: %s", test_dir, strerror(errno));
        return EXIT_FAIL;
    }
    jmp_buf here;
    jump = &here;
    int rc = setjmp(here);
    if (rc == 0) {
        if (s && s->opts.init)
            s->opts.init();
        c->fn();
    }
    /* fini after a passed, failed or skipped body, but not twice. */
    int rc2 = setjmp(here);
    if (rc2 == 0 && s && s->opts.fini)
        s->opts.fini();
    jump = NULL;
    current = NULL;
    if (rc == EXIT_SKIP && rc2 == 0)
        return EXIT_SKIP;
    return rc || rc2 || atomic_load(&failures) ? EXIT_FAIL : EXIT_PASS;
}

static bool glob_match(const char *p, const char *s)
{
    if (*p == '*')
        return glob_match(p + 1, s) || (*s && glob_match(p, s + 1));
    if (!*p)
        return !*s;
    return *p == *s && glob_match(p + 1, s + 1);
}

static bool selected(const struct t_case *c, const char *filter)
{
    if (!filter)
        return true;
    char full[256];
    snprintf(full, sizeof full, "%s/%s", c->suite, c->name);
    return glob_match(filter, full);
}

static int by_line(const void *a, const void *b)
{
    const struct t_case *x = *(const struct t_case *const *)a;
    const struct t_case *y = *(const struct t_case *const *)b;
    int f = strcmp(x->file, y->file);
    return f ? f : (x->line > y->line) - (x->line < y->line);
}

/* The first SKIP line's reason from the report, in skip (empty if none);
 * with print, the other lines as TAP diagnostics. */
static void read_report(char *skip, size_t n, bool print)
{
    skip[0] = 0;
    FILE *f = fopen(report_path, "r");
    if (!f)
        return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "SKIP ", 5) == 0) {
            if (!skip[0])
                snprintf(skip, n, "%.500s", line + 5);
        } else if (print) {
            printf("%s\n", line);
        }
    }
    fclose(f);
}

int t_main(int argc, char **argv)
{
    const char *filter = NULL, *child_base = NULL;
    bool list = false, fork_each = true;
    long child = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--child") == 0 && i + 2 < argc) {
            child = atol(argv[++i]); /* the runner's own call (Windows) */
            child_base = argv[++i];
        } else if (strcmp(argv[i], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[i], "--no-fork") == 0) {
            fork_each = false;
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--list] [--filter SUITE/NAME-PATTERN] [--no-fork]\n",
                    argv[0]);
            return 2;
        }
    }
    qsort(cases, ncases, sizeof *cases, by_line);
    if (child >= 0) {
        if ((size_t)child >= ncases)
            return 2;
        set_paths(child_base);
        return t_run_here(cases[child]);
    }
    size_t n = 0;
    for (size_t i = 0; i < ncases; i++)
        n += selected(cases[i], filter);
    if (list) {
        for (size_t i = 0; i < ncases; i++)
            if (selected(cases[i], filter))
                printf("%s/%s\n", cases[i]->suite, cases[i]->name);
        return 0;
    }
    const char *prog = argv[0];
    for (const char *p = argv[0]; *p; p++)
        if (*p == '/' || *p == '\\')
            prog = p + 1;
    printf("1..%zu\n", n);
    int passed = 0, failed_n = 0, skipped = 0;
    size_t k = 0;
    for (size_t i = 0; i < ncases; i++) {
        const struct t_case *c = cases[i];
        if (!selected(c, filter))
            continue;
        k++;
        char base[PATH_MAX], why[256] = "", skip[512];
        int rc;
        double t0 = t_os_now();
        if (make_dirs(base, sizeof base) != 0) {
            snprintf(why, sizeof why, "temporary directory: %s", strerror(errno));
            rc = -1;
        } else {
            rc = fork_each ? t_os_run_child(c, i, base, timeout_of(c), why, sizeof why)
                           : t_run_here(c);
        }
        fflush(stderr);
        read_report(skip, sizeof skip, false);
        if (rc == EXIT_PASS) {
            printf("ok %zu - %s/%s\n", k, c->suite, c->name);
            passed++;
        } else if (rc == EXIT_SKIP) {
            printf("ok %zu - %s/%s # SKIP %s\n", k, c->suite, c->name, skip);
            skipped++;
        } else {
            if (!why[0])
                snprintf(why, sizeof why, "exit status %d", rc);
            printf("not ok %zu - %s/%s # %s\n", k, c->suite, c->name, why);
            failed_n++;
        }
        read_report(skip, sizeof skip, true);
        double took = t_os_now() - t0;
        if (took >= 1)
            printf("# %.1f s\n", took);
        fflush(stdout);
        t_remove_tree(base);
        test_dir[0] = report_path[0] = 0;
    }
    printf("# %s: %d passed, %d failed, %d skipped\n", prog, passed, failed_n, skipped);
    return failed_n ? 1 : 0;
}
