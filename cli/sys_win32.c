/*
 * sys_win32.c - the program's operating system calls (sys.h) on Windows:
 * descriptors of the C runtime (msvcrt), and the Win32 calls beneath them
 * where the runtime has no equivalent (pread, mmap, a monotonic clock).
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <shellapi.h>

/* The nearest errno to the Windows errors the calls below can meet. */
static int from_win(DWORD e)
{
    switch (e) {
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return -ENOMEM;
    case ERROR_ACCESS_DENIED:
        return -EACCES;
    case ERROR_INVALID_HANDLE:
        return -EBADF;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return -ENOSPC;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
        return -EPIPE;
    /* A buffer the system could not read: for cat, a page of a view
     * lost to truncation (an in-page error; wine's is the last). */
    case ERROR_NOACCESS:
    case ERROR_SWAPERROR:
    case ERROR_INVALID_USER_BUFFER:
        return -EFAULT;
    default:
        return -EIO;
    }
}

/* s (UTF-8) for the W calls, or NULL (out of memory, invalid UTF-8). */
static wchar_t *widen(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

/* w in UTF-8, or NULL (out of memory). */
static char *narrow(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s)
        WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

/* The arguments are parsed again from the wide command line, which holds
 * every character; should that fail, the ANSI ones are the best left. The
 * strings live as long as the process. */
char **sys_init(int argc, char **argv)
{
    /* stderr too: the messages, --stats and bench's ratios are then the
     * same bytes as on POSIX systems. */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);

    int n;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    char **u = w && n == argc ? calloc((size_t)argc + 1, sizeof *u) : NULL;
    for (int i = 0; u && i < argc; i++) {
        if (!(u[i] = narrow(w[i]))) {
            while (i > 0)
                free(u[--i]);
            free(u);
            u = NULL;
        }
    }
    LocalFree(w);
    return u ? u : argv;
}

int64_t sys_now_ns(void)
{
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    /* In two parts, so that counter * 1e9 cannot overflow. */
    return c.QuadPart / f.QuadPart * 1000000000ll +
           c.QuadPart % f.QuadPart * 1000000000ll / f.QuadPart;
}

/* _isatty() also holds for NUL and other character devices: only a
 * console has a console mode. */
bool sys_isatty(int fd)
{
    DWORD mode;
    return GetConsoleMode((HANDLE)_get_osfhandle(fd), &mode) != 0;
}

int64_t sys_file_size(const char *path)
{
    wchar_t *w = widen(path);
    WIN32_FILE_ATTRIBUTE_DATA a;
    BOOL ok = w && GetFileAttributesExW(w, GetFileExInfoStandard, &a);
    free(w);
    if (!ok || (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        return -1;
    return (int64_t)((uint64_t)a.nFileSizeHigh << 32 | a.nFileSizeLow);
}

/* Windows counts bytes in a DWORD: at most 1 GiB a call. */
#define MAX_IO ((size_t)1 << 30)

/* WriteFile itself, not _write(): wine's msvcrt fails a short write, and
 * one to a pipe whose reader has gone, with EINVAL, where POSIX gives the
 * count or EPIPE. The descriptors here are binary: _write() would
 * translate nothing anyway. */
int64_t sys_write(int fd, const void *buf, size_t len)
{
    DWORD put;
    if (!WriteFile((HANDLE)_get_osfhandle(fd), buf,
                   (DWORD)(len < MAX_IO ? len : MAX_IO), &put, NULL))
        return from_win(GetLastError());
    return put;
}

/* ReadFile at an offset moves the handle's file position, which nothing
 * uses once the bench has written its data (the library reads through a
 * handle of its own). */
int64_t sys_pread(int fd, void *buf, size_t len, uint64_t offset)
{
    OVERLAPPED o = {.Offset = (DWORD)offset, .OffsetHigh = (DWORD)(offset >> 32)};
    DWORD got;
    if (!ReadFile((HANDLE)_get_osfhandle(fd), buf,
                  (DWORD)(len < MAX_IO ? len : MAX_IO), &got, &o)) {
        DWORD e = GetLastError();
        return e == ERROR_HANDLE_EOF ? 0 : from_win(e);
    }
    return got;
}

int sys_close(int fd)
{
    return _close(fd) == 0 ? 0 : -errno;
}

int sys_sync(int fd)
{
    return _commit(fd) == 0 ? 0 : -errno;
}

/* Windows' own temporary directory (%TMP%, %TEMP%, ...) unless TMPDIR
 * says otherwise. */
const char *sys_temp_dir(void)
{
    wchar_t buf[MAX_PATH + 1];
    const wchar_t *w = _wgetenv(L"TMPDIR");
    if (!w) {
        DWORD n = GetTempPathW(MAX_PATH + 1, buf);
        if (n == 0 || n > MAX_PATH)
            return ".";
        /* It ends in a backslash; a root ("C:\") keeps it. */
        if (n > 3)
            buf[n - 1] = L'\0';
        w = buf;
    }
    char *dir = narrow(w); /* lives as long as the process */
    return dir ? dir : ".";
}

long sys_pid(void)
{
    return (long)GetCurrentProcessId();
}

/* Windows cannot take an open file's name away, as unlink(2) does:
 * _O_TEMPORARY deletes the file once the last handle on it is closed (the
 * library's own included), and the end of the process closes them all. */
int sys_create_temp(const char *path)
{
    wchar_t *w = widen(path);
    if (!w)
        return -ENOMEM;
    int fd = _wopen(w, _O_RDWR | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT |
                    _O_TEMPORARY, _S_IREAD | _S_IWRITE);
    int e = errno;
    free(w);
    return fd < 0 ? -e : fd;
}

/* A read-only view of [offset, offset + len) of fd, nothing read in yet. */
static int map_view(int fd, uint64_t offset, size_t len, void **out)
{
    HANDLE s = CreateFileMappingW((HANDLE)_get_osfhandle(fd), NULL, PAGE_READONLY,
                                  0, 0, NULL);
    if (!s)
        return from_win(GetLastError());
    /* The view keeps the section alive; its handle is not needed after. */
    void *p = MapViewOfFile(s, FILE_MAP_READ, (DWORD)(offset >> 32), (DWORD)offset, len);
    DWORD e = GetLastError();
    CloseHandle(s);
    if (!p)
        return from_win(e);
    *out = p;
    return 0;
}

int sys_map(int fd, uint64_t offset, size_t len, const void **out)
{
    void *p;
    int rc = map_view(fd, offset, len, &p);
    if (rc < 0)
        return rc;
    /* MAP_POPULATE reads the pages in and maps them: prefetch them in
     * large reads, then touch each so that it is mapped too. */
    WIN32_MEMORY_RANGE_ENTRY r = {p, len};
    (void)PrefetchVirtualMemory(GetCurrentProcess(), 1, &r, 0); /* a hint */
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    const volatile unsigned char *b = p;
    for (size_t i = 0; i < len; i += si.dwPageSize)
        (void)b[i];
    *out = p;
    return 0;
}

void sys_unmap(const void *p, size_t len)
{
    (void)len; /* a view goes whole */
    UnmapViewOfFile(p);
}

/* Windows has no sequential advice for a view: its own readahead of mapped
 * files serves the faults. */
int sys_map_sequential(int fd, uint64_t offset, size_t len, const void **out)
{
    void *p;
    int rc = map_view(fd, offset, len, &p);
    if (rc == 0)
        *out = p;
    return rc;
}

int64_t sys_evict(int fd, uint64_t size)
{
    /* Only emptying the whole system's standby list drops a file's cached
     * pages, and that needs administrator rights. */
    (void)fd, (void)size;
    return -ENOSYS;
}

struct sys_thread {
    HANDLE h;
    void *(*fn)(void *);
    void *arg;
};

static unsigned __stdcall thread_main(void *arg)
{
    struct sys_thread *t = arg;
    t->fn(t->arg);
    return 0;
}

int sys_thread_start(struct sys_thread **out, void *(*fn)(void *), void *arg)
{
    struct sys_thread *t = malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: the thread calls the C runtime. */
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        int e = errno;
        free(t);
        return -e;
    }
    t->h = (HANDLE)h;
    *out = t;
    return 0;
}

void sys_thread_join(struct sys_thread *t)
{
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}
