/*
 * error.c - messages for error codes, and the version.
 */
#include "internal.h"

#include <string.h>

const char *smmap_version_string(void)
{
    return SMMAP_VERSION_STRING;
}

unsigned smmap_version_number(void)
{
    return SMMAP_VERSION_NUMBER;
}

const char *smmap_strerror(int err)
{
    switch (err) {
    case 0:              return "success";
    case SMMAP_EOF:      return "offset at or past the end of the file";
    case SMMAP_ELIMIT:   return "limit reached: every window is in use";
    case SMMAP_ETRUNC:   return "file truncated while mapped";
    case SMMAP_EINVAL:   return "invalid argument";
    case SMMAP_ECURSOR:  return "cursor has no window in use";
    case SMMAP_ENOTREG:  return "not a regular file";
    }
    /* glibc returns static text for every errno it knows; the range check
     * keeps unknown values away from its thread-unsafe fallback buffer. */
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}
