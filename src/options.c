/*
 * options.c - a manager's options: defaults, rounding and the reasons one
 * is refused (one set of rules for smmap_manager_new(), the check callers
 * make first and the messages they print), sizes as people write them,
 * and the environment variables that set them.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GiB (1024ull * 1024 * 1024)
#define MiB (1024ull * 1024)

int smmap_parse_size(const char *s, uint64_t *out)
{
    if (!s || !out || *s < '0' || *s > '9')
        return SMMAP_EINVAL;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return SMMAP_EINVAL;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    const char *units = "KMGT", *u = *s ? strchr(units, *s & ~0x20) : NULL;
    if (u && *u) {
        shift = 10 * (unsigned)(u - units + 1);
        s++;
    }
    if (*s || v > UINT64_MAX >> shift)
        return SMMAP_EINVAL;
    *out = v << shift;
    return 0;
}

static int refuse(const char **field, const char *name, char *why, size_t len,
                  const char *fmt, ...)
{
    if (field)
        *field = name;
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return SMMAP_EINVAL;
}

int smmap__options_resolve(const smmap_options *opt, struct limits *out,
                           const char **field, char *why, size_t len)
{
    smmap_options o = opt ? *opt : (smmap_options){0};
    const bool wide = sizeof(void *) >= 8;
    const uint64_t page = smmap__os_page_size();
    if (field)
        *field = NULL;
    if (why && len)
        *why = 0;
    if (o.kind != SMMAP_SLIDING && o.kind != SMMAP_STATIC)
        return refuse(field, "kind", why, len,
                      "%d is no manager kind (SMMAP_SLIDING or SMMAP_STATIC)", o.kind);
    if (o.flags & ~SMMAP_STRICT_LIMITS)
        return refuse(field, "flags", why, len, "unknown flags 0x%x",
                      o.flags & ~SMMAP_STRICT_LIMITS);
    uint64_t max_memory = o.max_memory ? o.max_memory : wide ? 8 * GiB : 1 * GiB;
    if (max_memory < 2 * page)
        return refuse(field, "max_memory", why, len,
                      "%llu bytes is below the minimum of two pages (%llu bytes)",
                      (unsigned long long)max_memory, (unsigned long long)(2 * page));
    uint64_t window = 0;
    if (o.kind == SMMAP_SLIDING) {
        if (o.window_size > SIZE_MAX / 2)
            return refuse(field, "window_size", why, len,
                          "%llu bytes is more than half the address space",
                          (unsigned long long)o.window_size);
        if (o.window_size > max_memory)
            return refuse(field, "window_size", why, len,
                          "%llu bytes is more than max_memory (%llu bytes): "
                          "one window must fit under the cap",
                          (unsigned long long)o.window_size,
                          (unsigned long long)max_memory);
        /* A default window leaves room for eight under the cap, as the
         * default sizes do, so a small cap still caches several windows. */
        window = o.window_size ? o.window_size : wide ? 1 * GiB : 64 * MiB;
        if (!o.window_size && window > max_memory / 8)
            window = max_memory / 8;
        /* Whole pages, at least two so that the grid step is a page; never
         * rounded past the memory cap, which a single window must fit. */
        window = (window + page - 1) / page * page;
        if (window > max_memory)
            window = max_memory / page * page;
        if (window < 2 * page)
            window = 2 * page;
    }
    if (out) {
        out->kind = o.kind;
        out->flags = o.flags;
        out->window = (size_t)window;
        out->half = (size_t)(window / 2 / page * page);
        out->max_memory = max_memory;
        out->max_handles = o.max_handles ? o.max_handles : smmap__os_default_handles();
    }
    return 0;
}

int smmap_options_check(const smmap_options *opt, const char **field, char *why,
                        size_t len)
{
    return smmap__options_resolve(opt, NULL, field, why, len);
}

/* The environment's value of one variable into *v (within [1, max]); 1 if
 * set, 0 if not, or SMMAP_EINVAL with the message. */
static int env_size(const char *name, uint64_t max, uint64_t *v, char *why, size_t len)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    if (smmap_parse_size(s, v) != 0)
        return refuse(NULL, name, why, len,
                      "%s=%s: not a size (digits, then K, M, G or T for powers of 1024)",
                      name, s);
    if (*v == 0 || *v > max)
        return refuse(NULL, name, why, len, "%s=%s: must be between 1 and %llu", name, s,
                      (unsigned long long)max);
    return 1;
}

int smmap_options_from_env(smmap_options *opt, char *why, size_t len)
{
    if (!opt)
        return SMMAP_EINVAL;
    if (why && len)
        *why = 0;
    uint64_t window, memory, handles;
    int w = env_size("SMMAP_WINDOW_SIZE", SIZE_MAX, &window, why, len);
    int m = w < 0 ? 0 : env_size("SMMAP_MAX_MEMORY", UINT64_MAX, &memory, why, len);
    int h = w < 0 || m < 0 ? 0 : env_size("SMMAP_MAX_HANDLES", UINT32_MAX, &handles, why, len);
    if (w < 0 || m < 0 || h < 0)
        return SMMAP_EINVAL;
    if (w)
        opt->window_size = (size_t)window;
    if (m)
        opt->max_memory = memory;
    if (h)
        opt->max_handles = (uint32_t)handles;
    return 0;
}
