/*
 * harness.h - the test runner every C suite of smmap links, on every target.
 *
 * A suite file declares tests with TEST(suite, name) and checks with the
 * ASSERT_* (stop the test) and EXPECT_* (note the failure, go on) macros.
 * The runner (harness.c) runs each test in a process of its own, in a
 * fresh temporary directory that is its working directory and that the
 * runner removes afterwards, and reports every test by name in TAP (the
 * protocol meson's `protocol: 'tap'` reads):
 *
 *     ok 3 - cursor/end_of_file
 *     not ok 4 - cursor/null_arguments # exit status 1
 *     ok 5 - files/sent_sigbus_still_kills # SKIP valgrind handles SIGBUS ...
 *
 * A crash (signal), a non-zero exit or a test that outlives its timeout
 * fails that test alone, with its name; the others still run. Why a process
 * per test: the library keeps process-wide state (the SIGBUS handler, the
 * fault hook), tests count descriptors and mappings, and sanitizers and
 * valgrind report leaks at exit - each must see one test only. POSIX forks
 * (fast, and works under qemu-user); Windows starts the program again with
 * the test's number.
 *
 * Options: `--list` prints the names; `--filter PATTERN` runs the tests
 * whose "suite/name" matches (`*` any run of characters); `--no-fork` runs
 * them in this process (for a debugger). The environment variable
 * SMMAP_TEST_TIMEOUT_SCALE multiplies every timeout (valgrind, emulators).
 */
#ifndef SMMAP_TEST_HARNESS_H
#define SMMAP_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* printf-style checking; mingw's printf (with __USE_MINGW_ANSI_STDIO) is
 * GNU's, not msvcrt's. */
#ifdef __MINGW32__
#define T_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define T_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* Options of a test: TEST(s, n, .timeout = 30). */
struct t_opts {
    int unused_; /* lets the initializer list be empty */
    double timeout; /* seconds; 0: the suite's, else 60 */
};

/* Options of a suite: TEST_SUITE(s, .init = f, .fini = g, .timeout = 120).
 * init runs before each test of the suite and fini after it (also after a
 * failed ASSERT), both in the test's process. */
struct t_suite_opts {
    int unused_;
    void (*init)(void);
    void (*fini)(void);
    double timeout;
};

struct t_case {
    const char *suite, *name, *file;
    int line;
    void (*fn)(void);
    struct t_opts opts;
};

struct t_suite {
    const char *name;
    struct t_suite_opts opts;
};

void t_register(struct t_case *c);
void t_register_suite(struct t_suite *s);

#define TEST(suite, name, ...)                                                        \
    static void t_fn_##suite##_##name(void);                                          \
    static struct t_case t_case_##suite##_##name = {                                  \
        #suite, #name, __FILE__, __LINE__, t_fn_##suite##_##name, {0, __VA_ARGS__}};  \
    __attribute__((constructor)) static void t_reg_##suite##_##name(void)             \
    {                                                                                 \
        t_register(&t_case_##suite##_##name);                                         \
    }                                                                                 \
    static void t_fn_##suite##_##name(void)

#define TEST_SUITE(suite, ...)                                                        \
    static struct t_suite t_suite_##suite = {#suite, {0, __VA_ARGS__}};               \
    __attribute__((constructor)) static void t_reg_suite_##suite(void)                \
    {                                                                                 \
        t_register_suite(&t_suite_##suite);                                           \
    }

/* ------------------------------------------------------------- checks */

/* A value as the checks print and compare it: integers compare by their
 * mathematical value (a negative int is less than any size_t), pointers
 * by address. */
struct t_val {
    enum { T_SIGNED, T_UNSIGNED, T_POINTER } kind;
    intmax_t i;
    uintmax_t u;
};
struct t_val t_signed(intmax_t v);
struct t_val t_unsigned(uintmax_t v);
/* Only the address is taken: `access(none)` tells gcc the pointee is not
 * read, or it warns of uninitialised memory behind the pointer. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
__attribute__((access(none, 1)))
#endif
struct t_val t_pointer(const volatile void *p);

#define T_VAL(x)                                                                      \
    _Generic((x), char: t_signed, signed char: t_signed, short: t_signed,             \
             int: t_signed, long: t_signed, long long: t_signed,                      \
             _Bool: t_unsigned, unsigned char: t_unsigned, unsigned short: t_unsigned, \
             unsigned int: t_unsigned, unsigned long: t_unsigned,                     \
             unsigned long long: t_unsigned, default: t_pointer)(x)

enum t_op { T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE };

/* Each returns whether the check held; on failure it reports file, line,
 * the expression, the values and the optional printf-style message, then
 * ends the test when fatal. */
bool t_check(bool ok, bool fatal, const char *file, int line, const char *expr,
             const char *fmt, ...) T_PRINTF(6, 7);
bool t_check_cmp(struct t_val a, enum t_op op, struct t_val b, bool fatal, const char *file,
                 int line, const char *expr, const char *fmt, ...)
    T_PRINTF(8, 9);
bool t_check_str(const char *a, const char *b, bool equal, bool fatal, const char *file,
                 int line, const char *expr, const char *fmt, ...)
    T_PRINTF(8, 9);

/* The message argument is optional: " " __VA_ARGS__ turns no argument into
 * the format " " (not "", which -Wformat-zero-length warns of) and a format
 * into itself after a space; the leading space is dropped when printed. */
#define T_CMP(a, op, b, fatal, opstr, ...)                                             \
    t_check_cmp(T_VAL(a), op, T_VAL(b), fatal, __FILE__, __LINE__, #a " " opstr " " #b, \
                " " __VA_ARGS__)

#define ASSERT(cond, ...) t_check(!!(cond), true, __FILE__, __LINE__, #cond, " " __VA_ARGS__)
#define EXPECT(cond, ...) t_check(!!(cond), false, __FILE__, __LINE__, #cond, " " __VA_ARGS__)
#define ASSERT_EQ(a, b, ...) T_CMP(a, T_EQ, b, true, "==", __VA_ARGS__)
#define ASSERT_NE(a, b, ...) T_CMP(a, T_NE, b, true, "!=", __VA_ARGS__)
#define ASSERT_LT(a, b, ...) T_CMP(a, T_LT, b, true, "<", __VA_ARGS__)
#define ASSERT_LE(a, b, ...) T_CMP(a, T_LE, b, true, "<=", __VA_ARGS__)
#define ASSERT_GT(a, b, ...) T_CMP(a, T_GT, b, true, ">", __VA_ARGS__)
#define ASSERT_GE(a, b, ...) T_CMP(a, T_GE, b, true, ">=", __VA_ARGS__)
#define EXPECT_EQ(a, b, ...) T_CMP(a, T_EQ, b, false, "==", __VA_ARGS__)
#define EXPECT_NE(a, b, ...) T_CMP(a, T_NE, b, false, "!=", __VA_ARGS__)
#define EXPECT_LT(a, b, ...) T_CMP(a, T_LT, b, false, "<", __VA_ARGS__)
#define EXPECT_LE(a, b, ...) T_CMP(a, T_LE, b, false, "<=", __VA_ARGS__)
#define EXPECT_GT(a, b, ...) T_CMP(a, T_GT, b, false, ">", __VA_ARGS__)
#define EXPECT_GE(a, b, ...) T_CMP(a, T_GE, b, false, ">=", __VA_ARGS__)
#define T_PTR(p, op, fatal, text, ...)                                                \
    t_check_cmp(t_pointer(p), op, t_pointer(NULL), fatal, __FILE__, __LINE__, text,   \
                " " __VA_ARGS__)
#define ASSERT_NULL(p, ...) T_PTR(p, T_EQ, true, #p " == NULL", __VA_ARGS__)
#define ASSERT_NOT_NULL(p, ...) T_PTR(p, T_NE, true, #p " != NULL", __VA_ARGS__)
#define EXPECT_NULL(p, ...) T_PTR(p, T_EQ, false, #p " == NULL", __VA_ARGS__)
#define EXPECT_NOT_NULL(p, ...) T_PTR(p, T_NE, false, #p " != NULL", __VA_ARGS__)
#define ASSERT_STR_EQ(a, b, ...)                                                      \
    t_check_str(a, b, true, true, __FILE__, __LINE__, #a " == " #b, " " __VA_ARGS__)
#define ASSERT_STR_NE(a, b, ...)                                                      \
    t_check_str(a, b, false, true, __FILE__, __LINE__, #a " != " #b, " " __VA_ARGS__)
#define EXPECT_STR_EQ(a, b, ...)                                                      \
    t_check_str(a, b, true, false, __FILE__, __LINE__, #a " == " #b, " " __VA_ARGS__)
#define EXPECT_STR_NE(a, b, ...)                                                      \
    t_check_str(a, b, false, false, __FILE__, __LINE__, #a " != " #b, " " __VA_ARGS__)

/* Fail the test now / note a failure and go on. */
#define FAIL(...) t_check(false, true, __FILE__, __LINE__, "FAIL", " " __VA_ARGS__)
#define EXPECT_FAIL(...) t_check(false, false, __FILE__, __LINE__, "FAIL", " " __VA_ARGS__)

/* End the test as skipped, with a reason ("valgrind handles SIGBUS ..."). */
#define SKIP(...) t_skip(" " __VA_ARGS__)
_Noreturn void t_skip(const char *fmt, ...) T_PRINTF(1, 2);

/* The running test's temporary directory (absolute, symlinks resolved). */
const char *t_dir(void);

/* The running test's name ("name" of TEST(suite, name)); "" outside one. */
const char *t_name(void);

/* The runner: runs the registered tests as the options say (see above) and
 * returns the exit status (0: every test passed or was skipped). A suite's
 * main() is harness_main.c's; a program with a main of its own (the fuzz
 * target) links harness.c and its harness_<os>.c without it and uses the
 * checks only: outside a test a failed ASSERT aborts. */
int t_main(int argc, char **argv);

/* Remove path and everything below it; 0 or -1. */
int t_remove_tree(const char *path);

/* Make a new directory $TMPDIR/smmap-TAG-XXXXXX (/tmp without TMPDIR), its
 * path with symlinks resolved in out[n]; 0 or -1 (errno). The runner's own
 * for each test, and a program's outside the runner (the fuzz target). */
int t_make_temp_dir(char *out, size_t n, const char *tag);

#endif
