/*
 * os_win32.c - the platform layer on Windows (os.h): files, mappings,
 * threads, memory. guard_win32.c holds the rest (the fault guard).
 *
 * Files are opened sharing read, write and delete, as POSIX files are: a
 * file we read can still be written, renamed and deleted by others (except
 * that Windows refuses to shrink, delete or replace a file while a view of
 * it exists).
 *
 * A view must start on the allocation granularity (64 KiB), coarser than
 * the page (4 KiB) on which the library places windows. smmap__os_map maps from the
 * granularity boundary below the window and hands out the window's start,
 * so windows have the same geometry on every system. The bytes before it
 * cost address space only (under 64 KiB a window), never memory, and are
 * made inaccessible, as they would be unmapped on POSIX.
 */
#include "os.h"
#include "smmap.h"

#include <errno.h>
#include <io.h>
#include <stdlib.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static int from_win(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
        return -ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_DELETE_PENDING:
        return -EACCES;
    case ERROR_TOO_MANY_OPEN_FILES:
        return -EMFILE;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return -ENOMEM;
    case ERROR_INVALID_HANDLE:
        return -EBADF;
    case ERROR_FILENAME_EXCED_RANGE:
        return -ENAMETOOLONG;
    case ERROR_DIRECTORY:
        return -ENOTDIR;
    case ERROR_INVALID_PARAMETER:
        return -EINVAL;
    case ERROR_USER_MAPPED_FILE:
        return -EBUSY;
    case ERROR_NO_UNICODE_TRANSLATION:
        return -EILSEQ;
    default:
        return -EIO;
    }
}

size_t smmap__os_page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}

static uint64_t granularity(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwAllocationGranularity;
}

/* Windows has no descriptor table limit or map count to stay under; a
 * view costs address space, which max_memory bounds already. This is
 * POSIX's default on a stock Linux (vm.max_map_count / 4). */
uint32_t smmap__os_default_handles(void)
{
    return 16384;
}

/* path (UTF-8) as Windows wants it; NULL and the error when it cannot be. */
static wchar_t *wide(const char *path, int *err)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0) {
        *err = from_win(GetLastError());
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        *err = -ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
    return w;
}

/* BACKUP_SEMANTICS opens a directory too, so that it is told apart
 * (-EISDIR) instead of failing as access denied. A NULL security
 * descriptor: the handle is not inherited by child processes. */
static int open_as(const char *path, DWORD access, HANDLE *out)
{
    int rc = 0;
    wchar_t *w = wide(path, &rc);
    if (!w)
        return rc;
    HANDLE h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return from_win(e);
    *out = h;
    return 0;
}

int smmap__os_open(const char *path, os_file *out)
{
    HANDLE h;
    int rc = open_as(path, GENERIC_READ, &h);
    if (rc == 0)
        *out = (os_file)h;
    return rc;
}

int smmap__os_dup(int fd, os_file *out)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE)
        return -EBADF;
    HANDLE self = GetCurrentProcess(), d;
    if (GetFileType(h) != FILE_TYPE_DISK) {
        /* smmap__os_fstat tells the caller what it is. */
        if (!DuplicateHandle(self, h, self, &d, 0, FALSE, DUPLICATE_SAME_ACCESS))
            return from_win(GetLastError());
        *out = (os_file)d;
        return 0;
    }
    /* A read of nothing at the current position checks the handle's
     * access without moving it: a write-only handle is -EBADF, as read(2)
     * would say. */
    DWORD got;
    char none;
    if (!ReadFile(h, &none, 0, &got, NULL)) {
        DWORD e = GetLastError();
        return e == ERROR_ACCESS_DENIED ? -EBADF : from_win(e);
    }
    /* A duplicate would share the file position, which ReadFile at an
     * offset moves; a handle reopened on the same file has a position of
     * its own, so the user's stays where the user left it. */
    HANDLE r = ReOpenFile(h, GENERIC_READ,
                          FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                          FILE_FLAG_BACKUP_SEMANTICS);
    if (r == INVALID_HANDLE_VALUE)
        return from_win(GetLastError());
    *out = (os_file)r;
    return 0;
}

/* msvcrt's fstat gives every file st_dev = st_ino = 0: the identity is the
 * volume serial number and the file index. */
int smmap__os_fstat(os_file f, struct os_stat *st)
{
    HANDLE h = (HANDLE)f;
    if (GetFileType(h) != FILE_TYPE_DISK) {
        *st = (struct os_stat){.type = OS_OTHER};
        return 0;
    }
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info))
        return from_win(GetLastError());
    st->dev = info.dwVolumeSerialNumber;
    st->ino = (uint64_t)info.nFileIndexHigh << 32 | info.nFileIndexLow;
    st->size = (uint64_t)info.nFileSizeHigh << 32 | info.nFileSizeLow;
    st->links = info.nNumberOfLinks;
    st->type = info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY ? OS_DIR : OS_REG;
    /* A deleted file keeps its name until its last handle closes: it is
     * gone once its deletion is pending. */
    FILE_STANDARD_INFO si;
    if (GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si) && si.DeletePending)
        st->links = 0;
    return 0;
}

/* A handle without read access: enough to ask who the file is, and it
 * does not stop anyone from deleting or replacing the file meanwhile. */
int smmap__os_stat_path(const char *path, struct os_stat *st)
{
    HANDLE h;
    int rc = open_as(path, 0, &h);
    if (rc != 0)
        return rc;
    rc = smmap__os_fstat((os_file)h, st);
    CloseHandle(h);
    return rc;
}

int smmap__os_close(os_file f)
{
    return CloseHandle((HANDLE)f) ? 0 : from_win(GetLastError());
}

/* What CreateFileMapping says when the file cannot be mapped at all (a
 * redirector or filesystem without sections), as opposed to a lack of
 * memory or a file that changed. */
static bool refused(DWORD e)
{
    return e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION ||
           e == ERROR_ACCESS_DENIED || e == ERROR_INVALID_PARAMETER;
}

/* A view may not reach past the file's end, as a POSIX mapping may: the
 * part of [offset, offset + len) past the end the file has now is left
 * out, and touching it faults like a truncated POSIX mapping. */
int smmap__os_map(os_file f, uint64_t offset, size_t len, int hint, void **out)
{
    HANDLE h = (HANDLE)f;
    LARGE_INTEGER size;
    if (!GetFileSizeEx(h, &size))
        return from_win(GetLastError());
    if ((uint64_t)size.QuadPart <= offset)
        return -ENXIO;
    if ((uint64_t)size.QuadPart - offset < len)
        len = (size_t)((uint64_t)size.QuadPart - offset);
    uint64_t skew = offset % granularity(), base = offset - skew;
    /* The view keeps the section alive; its handle is not needed after. */
    HANDLE s = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
    if (!s) {
        DWORD e = GetLastError();
        return refused(e) ? -ENODEV : from_win(e);
    }
    char *p = MapViewOfFile(s, FILE_MAP_READ, (DWORD)(base >> 32), (DWORD)base,
                            (SIZE_T)(skew + len));
    DWORD e = GetLastError();
    CloseHandle(s);
    if (!p)
        return from_win(e);
    DWORD was;
    if (skew)
        (void)VirtualProtect(p, (SIZE_T)skew, PAGE_NOACCESS, &was);
    if (hint == SMMAP_HINT_POPULATE || hint == SMMAP_HINT_SEQUENTIAL)
        smmap__os_advise(p + skew, len, SMMAP_HINT_WILLNEED);
    *out = p + skew;
    return 0;
}

/* Windows takes one piece of advice: read these pages in now. */
void smmap__os_advise(const void *p, size_t len, int hint)
{
    if (hint != SMMAP_HINT_WILLNEED && hint != SMMAP_HINT_POPULATE)
        return;
    WIN32_MEMORY_RANGE_ENTRY r = {(void *)p, len};
    (void)PrefetchVirtualMemory(GetCurrentProcess(), 1, &r, 0);
}

int smmap__os_unmap(void *p, size_t len)
{
    (void)len; /* a view goes whole */
    /* Views start on the granularity, and a window lies less than one
     * granule past its view's start. */
    void *base = (void *)((uintptr_t)p & ~(uintptr_t)(granularity() - 1));
    return UnmapViewOfFile(base) ? 0 : from_win(GetLastError());
}

/* ReadFile at an offset on a handle opened for synchronous access moves
 * that handle's position, which nobody else uses (smmap__os_dup reopens). */
int64_t smmap__os_pread(os_file f, void *dst, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        uint64_t at = offset + done;
        OVERLAPPED o = {.Offset = (DWORD)at, .OffsetHigh = (DWORD)(at >> 32)};
        DWORD want = len - done > 0x40000000 ? 0x40000000 : (DWORD)(len - done), got;
        if (!ReadFile((HANDLE)f, (char *)dst + done, want, &got, &o)) {
            DWORD e = GetLastError();
            if (e == ERROR_HANDLE_EOF)
                break;
            return from_win(e);
        }
        if (got == 0)
            break;
        done += got;
    }
    return (int64_t)done;
}

uint64_t smmap__os_now_ms(void)
{
    return GetTickCount64();
}

/* ---------------------------------------------------------------- threads */

_Static_assert(sizeof(SRWLOCK) <= sizeof(os_mutex), "os_mutex");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(os_cond), "os_cond");
#define MU(p) ((SRWLOCK *)(void *)(p))
#define CV(p) ((CONDITION_VARIABLE *)(void *)(p))

int smmap__os_mutex_init(os_mutex *mu)
{
    InitializeSRWLock(MU(mu));
    return 0;
}

void smmap__os_mutex_destroy(os_mutex *mu)
{
    (void)mu; /* an SRW lock holds no resources */
}

void smmap__os_mutex_lock(os_mutex *mu)
{
    AcquireSRWLockExclusive(MU(mu));
}

void smmap__os_mutex_unlock(os_mutex *mu)
{
    ReleaseSRWLockExclusive(MU(mu));
}

int smmap__os_cond_init(os_cond *cv)
{
    InitializeConditionVariable(CV(cv));
    return 0;
}

void smmap__os_cond_destroy(os_cond *cv)
{
    (void)cv;
}

void smmap__os_cond_wait(os_cond *cv, os_mutex *mu)
{
    SleepConditionVariableSRW(CV(cv), MU(mu), INFINITE, 0);
}

void smmap__os_cond_broadcast(os_cond *cv)
{
    WakeAllConditionVariable(CV(cv));
}

static SRWLOCK global_mu = SRWLOCK_INIT;

void smmap__os_global_lock(void)
{
    AcquireSRWLockExclusive(&global_mu);
}

void smmap__os_global_unlock(void)
{
    ReleaseSRWLockExclusive(&global_mu);
}

void smmap__os_on_fork(void (*before)(void), void (*parent)(void), void (*child)(void))
{
    (void)before, (void)parent, (void)child; /* no fork on Windows */
}

/* ----------------------------------------------------------------- memory */

void *smmap__os_alloc_aligned(size_t align, size_t size)
{
    return _aligned_malloc(size, align);
}

void smmap__os_free_aligned(void *p)
{
    _aligned_free(p);
}
