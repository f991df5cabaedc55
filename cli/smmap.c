/*
 * smmap.c - the command-line program: `sum` checksums files and `cat`
 * copies a byte range of one file to stdout, both reading through one
 * smmap manager so they stay within its limits of mapped memory and handles.
 */
#include "bench.h"
#include "smmap.h"
#include "sys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EXIT_USAGE 2

struct cli;
static int cmd_sum(struct cli *cli);
static int cmd_cat(struct cli *cli);

/* The commands, in the order --help lists them: the usage lines and every
 * help text are made from this table. */
static const struct command {
    const char *name;
    const char *operands;                  /* what follows "smmap NAME" */
    const char *summary;
    int (*run)(struct cli *cli);           /* takes the common options */
    int (*run_own)(int argc, char **argv); /* parses its own arguments */
} commands[] = {
    {"sum", "[OPTIONS] FILE...", "print `CRC32  SIZE  PATH` for each FILE (zlib's CRC-32)",
     cmd_sum, NULL},
    {"cat", "[OPTIONS] FILE [OFFSET [LENGTH]]",
     "write LENGTH bytes of FILE from OFFSET (default: to the end)", cmd_cat, NULL},
    {"bench", BENCH_OPERANDS, "measure the library against raw baselines on generated data",
     NULL, cmd_bench},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char options_help[] =
    "options:\n"
    "  --window SIZE      bytes per window of a sliding manager\n"
    "  --max-memory SIZE  cap on mapped bytes\n"
    "  --max-handles N    cap on windows (mappings)\n"
    "  --static           map each file whole (static manager)\n"
    "  --stats            print the manager's statistics as JSON on stderr\n"
    "  -h, --help         print this help\n"
    "\n"
    "SIZE, OFFSET and LENGTH are decimal byte counts with an optional\n"
    "K, M, G or T suffix (powers of 1024).\n"
    "\n"
    "environment (under the options: an option given wins):\n"
    "  SMMAP_WINDOW_SIZE, SMMAP_MAX_MEMORY, SMMAP_MAX_HANDLES\n";

/* The command being run, for the pointer to its help; NULL before one is
 * known. */
static const struct command *current;

/* Exit status after everything was written to stdout: a full disk or a
 * closed pipe must not pass for success. */
static int stdout_status(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smmap: write error on stdout\n");
        return EXIT_FAILURE;
    }
    return status;
}

/* --help: the usage of one command (cmd) or of all, what each does, and
 * the common options. */
static _Noreturn void print_help(const struct command *cmd)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!cmd || cmd == &commands[i])
            printf("%s smmap %s %s\n", cmd || i == 0 ? "usage:" : "      ", commands[i].name,
                   commands[i].operands);
    if (!cmd)
        puts("       smmap --version | --help");
    putchar('\n');
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!cmd || cmd == &commands[i])
            printf("%-6s%s\n", commands[i].name, commands[i].summary);
    if (!cmd || cmd->run)
        printf("\n%s", options_help);
    exit(stdout_status(EXIT_SUCCESS));
}

/* A usage error: one line, with the way to the help; exit 2. */
static _Noreturn void usage_error(const char *fmt, const char *arg)
{
    fputs("smmap: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see smmap %s%s--help)\n", current ? current->name : "",
            current ? " " : "");
    exit(EXIT_USAGE);
}

/* A SIZE option value in [1, max], or a usage error naming the option. */
static uint64_t option_size(const char *opt, const char *val, uint64_t max)
{
    uint64_t v;

    char what[160];
    if (smmap_parse_size(val, &v) != 0) {
        snprintf(what, sizeof what, "--%s '%.64s': not a size (digits, then K, M, G or T "
                 "for powers of 1024)", opt, val);
        usage_error("%s", what);
    }
    if (v == 0 || v > max) {
        snprintf(what, sizeof what, "--%s %.64s: must be between 1 and %" PRIu64, opt, val, max);
        usage_error("%s", what);
    }
    return v;
}

/* ---------------------------------------------------------------- options */

/* Where each limit came from, to name it in a message: "--window 2M" or
 * "SMMAP_WINDOW_SIZE=2M"; empty for a default. */
struct origin {
    char window[96], max_memory[96], max_handles[96];
};

struct cli {
    smmap_options opt;
    struct origin from;
    bool stats;
    char **args;   /* the operands, in order (points into argv) */
    int nargs;
};

enum { OPT_WINDOW, OPT_MAX_MEMORY, OPT_MAX_HANDLES, OPT_STATIC, OPT_STATS };

static const struct {
    const char *name;
    bool has_value;
} options[] = {
    [OPT_WINDOW] = {"window", true},
    [OPT_MAX_MEMORY] = {"max-memory", true},
    [OPT_MAX_HANDLES] = {"max-handles", true},
    [OPT_STATIC] = {"static", false},
    [OPT_STATS] = {"stats", false},
};

/* The option called name[0..len), or -1. */
static int find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strlen(options[i].name) == len &&
            strncmp(options[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Fill cli from argv[1..argc) (argv[0] is the command). Options and
 * operands may be mixed; "--" ends the options. Option values come as
 * `--opt=value` or `--opt value`. */
static void parse_options(int argc, char **argv, struct cli *cli)
{
    bool options_done = false;

    memset(cli, 0, sizeof *cli);
    cli->args = argv + 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            cli->args[cli->nargs++] = a;  /* compacts argv in place */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            print_help(current);
        const char *name = a + 2;
        const char *val = strchr(name, '=');
        int id = a[1] == '-' ? find_option(name, val ? (size_t)(val - name)
                                                     : strlen(name)) : -1;
        if (id < 0)
            usage_error("unknown option '%s'", a);
        if (val && !options[id].has_value)
            usage_error("option '%s' takes no value", a);
        if (val) {
            val++;
        } else if (options[id].has_value) {
            if (++i == argc)
                usage_error("option '%s' needs a value", a);
            val = argv[i];
        }

        const char *opt = options[id].name;
        struct origin *o = &cli->from;
        switch (id) {
        case OPT_WINDOW:
            cli->opt.window_size = (size_t)option_size(opt, val, SIZE_MAX);
            snprintf(o->window, sizeof o->window, "--%s %s", opt, val);
            break;
        case OPT_MAX_MEMORY:
            cli->opt.max_memory = option_size(opt, val, UINT64_MAX);
            snprintf(o->max_memory, sizeof o->max_memory, "--%s %s", opt, val);
            break;
        case OPT_MAX_HANDLES:
            cli->opt.max_handles = (uint32_t)option_size(opt, val, UINT32_MAX);
            snprintf(o->max_handles, sizeof o->max_handles, "--%s %s", opt, val);
            break;
        case OPT_STATIC:
            cli->opt.kind = SMMAP_STATIC;
            break;
        case OPT_STATS:
            cli->stats = true;
            break;
        }
    }
}

/* The environment's limits (SMMAP_WINDOW_SIZE...) under the options: a
 * limit the command line gives wins. A bad variable is a usage error. */
static void apply_env(struct cli *cli)
{
    smmap_options env = {0};
    char why[256];
    if (smmap_options_from_env(&env, why, sizeof why) != 0)
        usage_error("%s", why);
    struct origin *o = &cli->from;
    if (env.window_size && !o->window[0]) {
        cli->opt.window_size = env.window_size;
        snprintf(o->window, sizeof o->window, "SMMAP_WINDOW_SIZE=%s", getenv("SMMAP_WINDOW_SIZE"));
    }
    if (env.max_memory && !o->max_memory[0]) {
        cli->opt.max_memory = env.max_memory;
        snprintf(o->max_memory, sizeof o->max_memory, "SMMAP_MAX_MEMORY=%s", getenv("SMMAP_MAX_MEMORY"));
    }
    if (env.max_handles && !o->max_handles[0]) {
        cli->opt.max_handles = env.max_handles;
        snprintf(o->max_handles, sizeof o->max_handles, "SMMAP_MAX_HANDLES=%s", getenv("SMMAP_MAX_HANDLES"));
    }
}

/* Make the manager, or exit: limits the library refuses (a window above
 * the memory cap, a cap below two pages) are the user's mistake, named by
 * the option or variable that set them, with the usage status. */
static smmap_manager *manager_from(const struct cli *cli)
{
    const char *field = NULL;
    char why[256];
    if (smmap_options_check(&cli->opt, &field, why, sizeof why) != 0) {
        const struct origin *o = &cli->from;
        const char *from = !strcmp(field, "window_size") ? o->window
                           : !strcmp(field, "max_memory") ? o->max_memory : "";
        /* a default limit is named by the option that sets it */
        if (!from[0])
            from = !strcmp(field, "window_size") ? "--window" : "--max-memory";
        char what[400];
        snprintf(what, sizeof what, "%s: %s", from, why);
        usage_error("%s", what);
    }
    smmap_manager *m;
    int rc = smmap_manager_new(&m, &cli->opt);
    if (rc < 0) {
        fprintf(stderr, "smmap: cannot make a manager: %s\n", smmap_strerror(rc));
        exit(EXIT_FAILURE);
    }
    return m;
}

/* s as a JSON string: quotes, backslashes and control characters escaped,
 * other bytes as they are (paths are UTF-8 here). */
static void json_string(const char *s)
{
    fputc('"', stderr);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20)
            fprintf(stderr, "\\u%04x", c);
        else
            fputc(c, stderr);
    }
    fputc('"', stderr);
}

/* One entry of the "held" list: a window, or an open file without one. */
static int print_held(void *arg, const smmap_window_info *w)
{
    int *first = arg;
    fputs(*first ? "{\"path\": " : ", {\"path\": ", stderr);
    *first = 0;
    if (w->path)
        json_string(w->path);
    else
        fputs("null", stderr);
    fprintf(stderr, ", \"begin\": %" PRIu64 ", \"end\": %" PRIu64 ", \"users\": %" PRIu32
            ", \"cursors\": %" PRIu32 ", \"read\": %s, \"deleted\": %s}",
            w->begin, w->end, w->users, w->cursors, w->read ? "true" : "false",
            w->deleted ? "true" : "false");
    return 0;
}

/* Print the manager's statistics as one JSON object on stderr, with the
 * windows it holds (and open files without one) under "held". */
static void print_stats(const smmap_manager *m)
{
    smmap_stats s;
    smmap_manager_stats(m, &s);
    const struct { const char *key; uint64_t v; } f[] = {
        {"mapped", s.mapped}, {"mapped_peak", s.mapped_peak},
        {"windows", s.windows}, {"windows_peak", s.windows_peak},
        {"files", s.files}, {"files_peak", s.files_peak},
        {"files_mapped", s.files_mapped},
        {"mmap_calls", s.mmap_calls}, {"munmap_calls", s.munmap_calls},
        {"hits", s.hits}, {"misses", s.misses}, {"evictions", s.evictions},
        {"limit_exceeded", s.limit_exceeded}, {"failures", s.failures},
        {"retries", s.retries}, {"preads", s.preads},
        {"files_read_not_mapped", s.files_read_not_mapped},
        {"bytes_read_into_windows", s.bytes_read_into_windows},
        {"files_deleted", s.files_deleted},
    };
    size_t n = sizeof f / sizeof f[0];

    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s\"%s\": %" PRIu64, i ? ", " : "{", f[i].key, f[i].v);
    fputs(", \"held\": [", stderr);
    int first = 1;
    smmap_manager_walk(m, print_held, &first);
    fputs("]}\n", stderr);
}

/* --------------------------------------------------------------- progress */

/* The bar is for a person watching a long job: only on a terminal, only
 * past 256 MiB of work or 1 s, redrawn at most ten times a second. */
#define PROGRESS_MIN_BYTES (256ull << 20)
#define PROGRESS_MIN_NS    1000000000ll
#define PROGRESS_EVERY_NS  100000000ll

struct progress {
    bool on;             /* stderr is a terminal */
    bool tty_out;        /* so is stdout: clear the bar before each line */
    uint64_t total, done;
    int64_t start, last; /* ns; last = 0: never drawn */
    size_t width;        /* characters on screen, to clear them */
};

/* Start a bar for the files' total size. The sizes only serve the
 * estimate: files that cannot be sized are simply left out of the total. */
static void progress_start(struct progress *p, char **paths, int n)
{
    memset(p, 0, sizeof *p);
    p->on = sys_isatty(SYS_STDERR);
    if (!p->on)
        return;
    p->tty_out = sys_isatty(SYS_STDOUT);
    for (int i = 0; i < n; i++) {
        int64_t size = sys_file_size(paths[i]);
        if (size >= 0)
            p->total += (uint64_t)size;
    }
    p->start = sys_now_ns();
}

static void progress_clear(struct progress *p)
{
    if (p->width) {
        fprintf(stderr, "\r%*s\r", (int)p->width, "");
        p->width = 0;
    }
}

static void progress_advance(struct progress *p, uint64_t bytes)
{
    if (!p->on)
        return;
    p->done += bytes;
    int64_t now = sys_now_ns(), elapsed = now - p->start;
    if (p->last && now - p->last < PROGRESS_EVERY_NS)
        return;
    if (p->total <= PROGRESS_MIN_BYTES && elapsed < PROGRESS_MIN_NS)
        return;
    p->last = now;

    /* A file may grow while read: never show more than 100 %. */
    uint64_t done = p->done < p->total ? p->done : p->total;
    int pct = p->total ? (int)(done * 100 / p->total) : 100;
    double mbs = elapsed > 0 ? (double)p->done * 1e3 / (double)elapsed : 0;
    char bar[31];
    memset(bar, '.', 30);
    memset(bar, '#', (size_t)pct * 30 / 100);
    bar[30] = '\0';
    char line[96];
    int w = snprintf(line, sizeof line, "\r[%s] %3d%%  %.1f MB/s", bar, pct, mbs);
    if (w > 1) {
        size_t drawn = (size_t)w - 1;
        /* Pad over a longer previous line, then write it all at once. */
        fprintf(stderr, "%s%*s", line,
                p->width > drawn ? (int)(p->width - drawn) : 0, "");
        if (drawn > p->width)
            p->width = drawn;
    }
}

/* -------------------------------------------------------------------- sum */

/* zlib's crc32() takes a uInt length; feed it in slices, which also
 * paces the progress bar within one big window. */
#define CRC_SLICE ((size_t)8 << 20)

struct crc_scan {
    uLong crc;
    struct progress *p;
};

/* sum reads the windows in place (smmap_scan): copying out first would
 * cost some 10% of a crc32-bound loop. */
static int crc_span(void *arg, const unsigned char *d, size_t n, uint64_t at)
{
    struct crc_scan *s = arg;
    (void)at;
    for (size_t i = 0; i < n; i += CRC_SLICE) {
        size_t k = n - i < CRC_SLICE ? n - i : CRC_SLICE;
        s->crc = crc32(s->crc, d + i, (uInt)k);
        progress_advance(s->p, k);
    }
    return 0;
}

/* Checksum every byte of path through the manager, straight from the
 * windows. */
static int sum_file(smmap_manager *m, const char *path, struct progress *p,
                    uLong *crc, uint64_t *size)
{
    smmap_cursor *c;
    int rc = smmap_cursor_new(m, path, &c);
    if (rc < 0)
        return rc;
    /* Every window is read whole: map it with its page tables filled in,
     * rather than fault it in 64 KiB at a time. */
    smmap_cursor_hint(c, SMMAP_HINT_SEQUENTIAL);
    struct crc_scan s = {crc32(0, Z_NULL, 0), p};
    int64_t n = smmap_scan(c, 0, UINT64_MAX, crc_span, &s);
    smmap_cursor_free(c);
    *crc = s.crc;
    *size = n < 0 ? 0 : (uint64_t)n;
    return n < 0 ? (int)n : 0;
}

static int cmd_sum(struct cli *cli)
{
    if (cli->nargs == 0)
        usage_error("sum needs at least one FILE", NULL);

    smmap_manager *m = manager_from(cli);
    struct progress p;
    int status = EXIT_SUCCESS;

    progress_start(&p, cli->args, cli->nargs);
    for (int i = 0; i < cli->nargs; i++) {
        const char *path = cli->args[i];
        uLong crc;
        uint64_t size;
        int rc = sum_file(m, path, &p, &crc, &size);
        if (rc < 0 || p.tty_out)  /* a line would land on the bar */
            progress_clear(&p);
        if (rc < 0) {
            fprintf(stderr, "smmap: %s: %s\n", path, smmap_strerror(rc));
            status = EXIT_FAILURE;
            continue;
        }
        /* Flushed per line so that lines and errors keep their order. */
        printf("%08lx  %" PRIu64 "  %s\n", (unsigned long)crc, size, path);
        fflush(stdout);
    }
    progress_clear(&p);
    if (cli->stats)
        print_stats(m);
    smmap_manager_free(m);
    return stdout_status(status);
}

/* -------------------------------------------------------------------- cat */

/* Write all of buf to stdout. Returns 0 or -errno. */
static int write_all(const unsigned char *buf, size_t len)
{
    while (len > 0) {
        int64_t w = sys_write(SYS_STDOUT, buf, len);
        if (w < 0) {
            if (w == -EINTR)
                continue;
            return (int)w;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copy [off, off+len) of the cursor's file to stdout, stopping early at
 * end of file. Returns 0, or -1 after printing the error (quietly on
 * EPIPE: the reader has gone, as `cat | head` expects). */
static int cat_range(smmap_cursor *c, const char *path, uint64_t off,
                     uint64_t len)
{
    while (len > 0) {
        int rc = smmap_use(c, off, 0);
        if (rc == SMMAP_EOF)
            return 0;
        if (rc < 0) {
            fprintf(stderr, "smmap: %s: %s\n", path, smmap_strerror(rc));
            return -1;
        }
        size_t n = smmap_size(c);
        if (n == 0)  /* nothing usable: guards against a spin */
            return 0;
        if (n > len)
            n = (size_t)len;
        /* write() from a page lost to truncation fails with EFAULT rather
         * than raising SIGBUS (WriteFile with an error sys_write() calls
         * EFAULT), so this raw read is safe. */
        rc = write_all(smmap_data(c), n);
        if (rc == -EFAULT) {
            fprintf(stderr, "smmap: %s: %s\n", path,
                    smmap_strerror(SMMAP_ETRUNC));
            return -1;
        }
        if (rc < 0) {
            if (rc != -EPIPE)
                fprintf(stderr, "smmap: write error: %s\n", strerror(-rc));
            return -1;
        }
        off += n;
        len -= n;
    }
    return 0;
}

static int cmd_cat(struct cli *cli)
{
    uint64_t off = 0, len = UINT64_MAX;

    if (cli->nargs < 1 || cli->nargs > 3)
        usage_error("cat needs FILE [OFFSET [LENGTH]]", NULL);
    if (cli->nargs > 1 && smmap_parse_size(cli->args[1], &off) != 0)
        usage_error("invalid OFFSET '%s'", cli->args[1]);
    if (cli->nargs > 2 && smmap_parse_size(cli->args[2], &len) != 0)
        usage_error("invalid LENGTH '%s'", cli->args[2]);

    const char *path = cli->args[0];
    smmap_manager *m = manager_from(cli);
    smmap_cursor *c = NULL;
    int status = EXIT_FAILURE;
    int rc = smmap_cursor_new(m, path, &c);
    int64_t size = rc < 0 ? rc : smmap_file_stat(c);

    if (size < 0)
        fprintf(stderr, "smmap: %s: %s\n", path, smmap_strerror((int)size));
    else if (off > (uint64_t)size)
        fprintf(stderr, "smmap: %s: offset %" PRIu64 " is past the end of "
                "the file (%" PRId64 " bytes)\n", path, off, size);
    else if (cat_range(c, path, off, len) == 0)
        status = EXIT_SUCCESS;
    smmap_cursor_free(c);
    if (cli->stats)
        print_stats(m);
    smmap_manager_free(m);
    return status;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    struct cli cli;

    argv = sys_init(argc, argv);
    if (argc < 2)
        usage_error("%s", "a command is needed: sum, cat or bench");
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 && argc == 2) {
        printf("smmap %s\n", smmap_version_string());
        return stdout_status(EXIT_SUCCESS);
    }
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
        print_help(NULL);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            current = &commands[i];
    if (!current)
        usage_error("unknown command '%s'", name);
    if (current->run_own)
        return stdout_status(current->run_own(argc - 1, argv + 1));
    parse_options(argc - 1, argv + 1, &cli);
    apply_env(&cli);
    return current->run(&cli);
}
