/*
 * error.c - messages for error codes, and the version.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
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
    case SMMAP_ECURSOR:  return "no window in use or mapped there";
    case SMMAP_ENOTREG:  return "not a regular file";
    }
    /* C's strerror() may return a buffer that its next call overwrites
     * (msvcrt does): the errors the platform layers return have their
     * text here, glibc's words. */
    switch (err > INT_MIN ? -err : 0) {
    case EPERM:        return "Operation not permitted";
    case ENOENT:       return "No such file or directory";
    case EINTR:        return "Interrupted system call";
    case EIO:          return "Input/output error";
    case ENXIO:        return "No such device or address";
    case EBADF:        return "Bad file descriptor";
    case EAGAIN:       return "Resource temporarily unavailable";
    case ENOMEM:       return "Cannot allocate memory";
    case EACCES:       return "Permission denied";
    case EBUSY:        return "Device or resource busy";
    case ENODEV:       return "No such device";
    case ENOTDIR:      return "Not a directory";
    case EISDIR:       return "Is a directory";
    case EINVAL:       return "Invalid argument";
    case ENFILE:       return "Too many open files in system";
    case EMFILE:       return "Too many open files";
    case EFBIG:        return "File too large";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP:        return "Too many levels of symbolic links";
    case EOVERFLOW:    return "Value too large for defined data type";
    case EILSEQ:       return "Invalid or incomplete multibyte or wide character";
    }
    /* Anything else: the C library's text (glibc's is static for every
     * errno it knows; the range check keeps unknown values away from its
     * thread-unsafe fallback buffer). */
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}
