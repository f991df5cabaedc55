/*
 * test_options.c - a manager's options: sizes as people write them, the
 * check that names what smmap_manager_new() would refuse, and the
 * environment variables smmap_options_from_env() reads.
 */
#include "util.h"

#include <smmap.h>

#include <string.h>

TEST(options, parse_size)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        {"0", 0}, {"4096", 4096}, {"64K", 64 * KiB}, {"64k", 64 * KiB}, {"3M", 3 * MiB},
        {"2g", 2 * GiB}, {"1T", 1024 * GiB}, {"18446744073709551615", UINT64_MAX},
        {"16777215T", (uint64_t)16777215 * 1024 * GiB},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 1;
        EXPECT_EQ(smmap_parse_size(good[i].s, &v), 0, "%s", good[i].s);
        EXPECT_EQ(v, good[i].v, "%s", good[i].s);
    }
    static const char *const bad[] = {
        "", "K", "-1", " 1", "1 ", "1KB", "1P", "1.5M", "0x10", "18446744073709551616",
        "16777216T", "1e3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        EXPECT_EQ(smmap_parse_size(bad[i], &v), SMMAP_EINVAL, "'%s'", bad[i]);
        EXPECT_EQ(v, 7u, "'%s' wrote the result", bad[i]);
    }
    uint64_t v;
    EXPECT_EQ(smmap_parse_size(NULL, &v), SMMAP_EINVAL);
    EXPECT_EQ(smmap_parse_size("1", NULL), SMMAP_EINVAL);
}

/* Every refusal names its field and the values; what the check accepts,
 * smmap_manager_new() makes, and what it refuses, the manager refuses. */
TEST(options, check_names_the_field)
{
    const uint64_t page = util_page();
    static char why[200];
    const char *field;
    struct {
        smmap_options o;
        const char *field, *says;
    } cases[] = {
        {{.kind = 7}, "kind", "7 is no manager kind"},
        {{.flags = 0x10}, "flags", "unknown flags 0x10"},
        {{.max_memory = page}, "max_memory", "below the minimum of two pages"},
        {{.window_size = 2 * MiB, .max_memory = 1 * MiB}, "window_size",
         "more than max_memory (1048576 bytes)"},
        {{.kind = SMMAP_SLIDING, .window_size = SIZE_MAX}, "window_size",
         "more than half the address space"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        field = NULL;
        EXPECT_EQ(smmap_options_check(&cases[i].o, &field, why, sizeof why), SMMAP_EINVAL);
        EXPECT_STR_EQ(field ? field : "(null)", cases[i].field);
        EXPECT(strstr(why, cases[i].says) != NULL, "'%s' lacks '%s'", why, cases[i].says);
        smmap_manager *m = NULL;
        EXPECT_EQ(smmap_manager_new(&m, &cases[i].o), SMMAP_EINVAL, "%s", cases[i].field);
        EXPECT_NULL(m);
    }
    /* the window may be as large as the cap, and a static manager ignores it */
    smmap_options ok[] = {
        {0}, {.window_size = 1 * MiB, .max_memory = 1 * MiB}, {.max_memory = 2 * page},
        {.kind = SMMAP_STATIC, .window_size = 4 * MiB, .max_memory = 1 * MiB},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        field = "untouched";
        EXPECT_EQ(smmap_options_check(&ok[i], &field, why, sizeof why), 0, "%zu: %s", i, why);
        EXPECT_NULL(field);
        smmap_manager *m = NULL;
        EXPECT_EQ(smmap_manager_new(&m, &ok[i]), 0, "%zu", i);
        smmap_manager_free(m);
    }
    EXPECT_EQ(smmap_options_check(NULL, NULL, NULL, 0), 0);
    EXPECT_EQ(smmap_options_check(&cases[0].o, NULL, why, 4), SMMAP_EINVAL);
    EXPECT_EQ(strlen(why), 3u, "the message is cut to the room given");
}

static void clear_env(void)
{
    util_setenv("SMMAP_WINDOW_SIZE", NULL);
    util_setenv("SMMAP_MAX_MEMORY", NULL);
    util_setenv("SMMAP_MAX_HANDLES", NULL);
}

TEST(options, from_env_sets_what_it_names)
{
    clear_env();
    smmap_options o = {.kind = SMMAP_STATIC, .window_size = 5, .max_memory = 6, .max_handles = 7};
    char why[200] = "x";
    EXPECT_EQ(smmap_options_from_env(&o, why, sizeof why), 0);
    EXPECT_EQ(o.window_size, 5u, "nothing set, nothing changed");
    EXPECT_EQ(o.max_memory, 6u);
    EXPECT_EQ(o.max_handles, 7u);
    EXPECT_STR_EQ(why, "");
    util_setenv("SMMAP_WINDOW_SIZE", "2M");
    util_setenv("SMMAP_MAX_HANDLES", "3");
    EXPECT_EQ(smmap_options_from_env(&o, NULL, 0), 0);
    EXPECT_EQ(o.kind, SMMAP_STATIC);
    EXPECT_EQ(o.window_size, 2 * MiB);
    EXPECT_EQ(o.max_memory, 6u);
    EXPECT_EQ(o.max_handles, 3u);
    util_setenv("SMMAP_MAX_MEMORY", "1G");
    EXPECT_EQ(smmap_options_from_env(&o, NULL, 0), 0);
    EXPECT_EQ(o.max_memory, 1 * GiB);

    /* the environment configures a manager made with defaults */
    smmap_options d = {0};
    ASSERT_EQ(smmap_options_from_env(&d, NULL, 0), 0);
    smmap_manager *m = util_manager(&d);
    smmap_options got;
    smmap_manager_options(m, &got);
    EXPECT_EQ(got.window_size, 2 * MiB);
    EXPECT_EQ(got.max_memory, 1 * GiB);
    EXPECT_EQ(got.max_handles, 3u);
    smmap_manager_free(m);
    clear_env();
}

TEST(options, from_env_names_a_bad_variable)
{
    static const struct {
        const char *name, *value, *says;
    } bad[] = {
        {"SMMAP_WINDOW_SIZE", "big", "SMMAP_WINDOW_SIZE=big: not a size"},
        {"SMMAP_MAX_MEMORY", "0", "SMMAP_MAX_MEMORY=0: must be between 1 and"},
        {"SMMAP_MAX_HANDLES", "5G", "SMMAP_MAX_HANDLES=5G: must be between 1 and 4294967295"},
        {"SMMAP_MAX_MEMORY", "12Q", "SMMAP_MAX_MEMORY=12Q: not a size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env();
        util_setenv("SMMAP_MAX_HANDLES", "9");
        util_setenv(bad[i].name, bad[i].value);
        smmap_options o = {.max_handles = 1};
        char why[200];
        EXPECT_EQ(smmap_options_from_env(&o, why, sizeof why), SMMAP_EINVAL, "%s", bad[i].value);
        EXPECT(strstr(why, bad[i].says) == why, "'%s' is not '%s...'", why, bad[i].says);
        EXPECT_EQ(o.max_handles, 1u, "a refused environment changed the options");
    }
    clear_env();
    EXPECT_EQ(smmap_options_from_env(NULL, NULL, 0), SMMAP_EINVAL);
}
