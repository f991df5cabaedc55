/*
 * util_win32.c - the test helpers that ask Windows (util.h). Windows has no
 * /proc: handles are found by walking the handle values (GetHandleInformation
 * accepts exactly the open ones) and views by walking the address space
 * (VirtualQuery, GetMappedFileNameW); a window's file offset is found by
 * matching its first bytes against the file.
 */
#include "util.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>

static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    ASSERT_GT(n, 0, "%s", s);
    wchar_t *w = malloc((size_t)n * sizeof *w);
    ASSERT_NOT_NULL(w);
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

static HANDLE open_file(const char *path, DWORD access, DWORD disposition)
{
    wchar_t *w = wide(path);
    HANDLE h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    return h;
}

void util_write_pattern(const char *path, int create, uint64_t from, uint64_t len,
                        uint32_t salt)
{
    HANDLE h = open_file(path, GENERIC_WRITE, create ? CREATE_ALWAYS : OPEN_EXISTING);
    ASSERT(h != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    static unsigned char chunk[64 * 1024];
    while (len > 0) {
        DWORD n = len < sizeof chunk ? (DWORD)len : (DWORD)sizeof chunk, put;
        util_fill(salt, from, chunk, n);
        OVERLAPPED o = {.Offset = (DWORD)from, .OffsetHigh = (DWORD)(from >> 32)};
        ASSERT(WriteFile(h, chunk, n, &put, &o) && put == n, "write %s: error %lu", path,
               GetLastError());
        from += n;
        len -= n;
    }
    CloseHandle(h);
}

void util_mkdir(const char *path)
{
    wchar_t *w = wide(path);
    BOOL ok = CreateDirectoryW(w, NULL);
    free(w);
    ASSERT(ok, "mkdir %s: error %lu", path, GetLastError());
}

void util_link(const char *target, const char *name)
{
    wchar_t *t = wide(target), *n = wide(name);
    BOOL ok = CreateHardLinkW(n, t, NULL);
    free(t);
    free(n);
    ASSERT(ok, "link %s: error %lu", name, GetLastError());
}

static uint64_t size_of(const char *path)
{
    HANDLE h = open_file(path, FILE_READ_ATTRIBUTES, OPEN_EXISTING);
    ASSERT(h != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    LARGE_INTEGER n;
    ASSERT(GetFileSizeEx(h, &n));
    CloseHandle(h);
    return (uint64_t)n.QuadPart;
}

/* wine's kernel32 can name the host's path of a file; Windows' cannot. */
typedef char *(CDECL *unix_name_fn)(const wchar_t *);

static int cut_by_host(const char *path, uint64_t size)
{
    unix_name_fn unix_name = (unix_name_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleA("kernel32.dll"), "wine_get_unix_file_name");
    if (!unix_name)
        SKIP("Windows refuses to shrink a file while a view of it exists");
    wchar_t *w = wide(path);
    char *host = unix_name(w);
    free(w);
    ASSERT_NOT_NULL(host);
    char cmd[2 * MAX_PATH];
    snprintf(cmd, sizeof cmd, "Z:\\usr\\bin\\truncate -s %llu \"%s\"",
             (unsigned long long)size, host);
    HeapFree(GetProcessHeap(), 0, host);
    STARTUPINFOA si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    /* wine's start of a host program fails now and then under load
     * (ERROR_INTERNAL_ERROR, seen in CI): try again a few times. */
    BOOL started = FALSE;
    for (int i = 0; i < 5 && !(started = CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL,
                                                        NULL, &si, &pi)); i++)
        Sleep(200);
    ASSERT(started, "%s: error %lu", cmd, GetLastError());
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    /* wine does not wait for a host process: watch the size instead. */
    for (int i = 0; i < 1000 && size_of(path) != size; i++)
        Sleep(10);
    return size_of(path) == size ? 0 : -1;
}

/* 0, or the Windows error. */
static DWORD set_size(const char *path, uint64_t size)
{
    HANDLE h = open_file(path, GENERIC_WRITE, OPEN_EXISTING);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError();
    FILE_END_OF_FILE_INFO eof = {.EndOfFile.QuadPart = (LONGLONG)size};
    BOOL ok = SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof eof);
    DWORD e = ok ? 0 : GetLastError();
    CloseHandle(h);
    return e;
}

int util_truncate(const char *path, uint64_t size)
{
    DWORD e = set_size(path, size);
    if (e == ERROR_USER_MAPPED_FILE)
        return cut_by_host(path, size);
    return e ? -1 : 0;
}

int util_shrink_here(const char *path, uint64_t size)
{
    return set_size(path, size) ? -1 : 0;
}

int util_rename(const char *from, const char *to)
{
    wchar_t *f = wide(from), *t = wide(to);
    BOOL ok = MoveFileExW(f, t, MOVEFILE_REPLACE_EXISTING);
    free(f);
    free(t);
    return ok ? 0 : -1;
}

/* Handle values are multiples of 4 and handed out lowest first; the tests
 * never hold more than a few thousand. */
#define MAX_HANDLE 0x4000

int util_remove(const char *path)
{
    wchar_t *w = wide(path);
    BOOL ok = DeleteFileW(w);
    free(w);
    return ok ? 0 : -1;
}

void util_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

void util_setenv(const char *name, const char *value)
{
    /* An empty value removes the variable, as POSIX's unsetenv. */
    ASSERT_EQ(_putenv_s(name, value ? value : ""), 0, "%s", name);
}

void util_require_deletion_seen(void)
{
    const char *path = util_path("deletion-probe");
    util_write_pattern(path, 1, 0, 10, 0);
    wchar_t *w = wide(path);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, 0, NULL);
    ASSERT(h != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    FILE_STANDARD_INFO si = {0};
    BOOL seen = DeleteFileW(w) &&
                GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si) &&
                si.DeletePending;
    CloseHandle(h);
    free(w);
    if (!seen)
        SKIP("this system does not report a pending deletion of an open file "
             "(wine: FileStandardInfo.DeletePending is always FALSE)");
}

/* How many of this process's open handles match (all of them for match
 * NULL; match sees only handles of files on a disk). */
static int count_handles(BOOL (*match)(HANDLE h, const void *arg), const void *arg)
{
    int n = 0;
    for (uintptr_t v = 4; v < MAX_HANDLE; v += 4) {
        DWORD flags;
        HANDLE h = (HANDLE)v;
        if (GetHandleInformation(h, &flags) &&
            (!match || (GetFileType(h) == FILE_TYPE_DISK && match(h, arg))))
            n++;
    }
    return n;
}

static BOOL delete_pending(HANDLE h, const void *arg)
{
    (void)arg;
    FILE_STANDARD_INFO si;
    return GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si) &&
           si.DeletePending;
}

/* A view keeps its file only through the handle the library holds with
 * it, so the handles tell. */
int util_deleted_held(void)
{
    return count_handles(delete_pending, NULL);
}

int util_count_fds(void)
{
    return count_handles(NULL, NULL);
}

static BY_HANDLE_FILE_INFORMATION identity(const char *path)
{
    HANDLE h = open_file(path, FILE_READ_ATTRIBUTES, OPEN_EXISTING);
    ASSERT(h != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    BY_HANDLE_FILE_INFORMATION id;
    ASSERT(GetFileInformationByHandle(h, &id));
    CloseHandle(h);
    return id;
}

static BOOL same_file(HANDLE h, const void *arg)
{
    const BY_HANDLE_FILE_INFORMATION *want = arg;
    BY_HANDLE_FILE_INFORMATION id;
    return GetFileInformationByHandle(h, &id) &&
           id.dwVolumeSerialNumber == want->dwVolumeSerialNumber &&
           id.nFileIndexHigh == want->nFileIndexHigh && id.nFileIndexLow == want->nFileIndexLow;
}

int util_fds_of(const char *path)
{
    BY_HANDLE_FILE_INFORMATION want = identity(path);
    return count_handles(same_file, &want);
}

/* The file offset of the bytes at p: the page multiple whose bytes match
 * them (the pattern differs at every offset). */
static uint64_t offset_of(HANDLE file, uint64_t size, const unsigned char *p, size_t len)
{
    unsigned char probe[64];
    size_t n = len < sizeof probe ? len : sizeof probe;
    for (uint64_t at = 0; at < size; at += util_page()) {
        OVERLAPPED o = {.Offset = (DWORD)at, .OffsetHigh = (DWORD)(at >> 32)};
        DWORD got;
        if (ReadFile(file, probe, (DWORD)n, &got, &o) && got == n && !memcmp(probe, p, n))
            return at;
    }
    return UINT64_MAX;
}

/* A window is the readable part of its view: the library makes the bytes
 * between the view's start (on the allocation granularity) and the
 * window's start inaccessible. */
int util_maps_of(const char *path, struct util_map *out, int max)
{
    wchar_t *w = wide(path), full[MAX_PATH];
    DWORD len = GetFullPathNameW(w, MAX_PATH, full, NULL);
    free(w);
    ASSERT(len > 2 && len < MAX_PATH);
    /* GetMappedFileNameW names the file as the system does (a device
     * path on Windows, \??\C:\... under wine): compare what follows the
     * drive. */
    const wchar_t *tail = full[1] == L':' ? full + 2 : full;
    size_t tail_len = wcslen(tail);
    HANDLE file = open_file(path, GENERIC_READ, OPEN_EXISTING);
    ASSERT(file != INVALID_HANDLE_VALUE, "open %s: error %lu", path, GetLastError());
    LARGE_INTEGER size;
    ASSERT(GetFileSizeEx(file, &size));
    int n = 0;
    MEMORY_BASIC_INFORMATION mb;
    for (const char *a = NULL; VirtualQuery(a, &mb, sizeof mb) == sizeof mb;
         a = (const char *)mb.BaseAddress + mb.RegionSize) {
        if (mb.Type != MEM_MAPPED || mb.BaseAddress != mb.AllocationBase)
            continue;
        wchar_t name[2 * MAX_PATH];
        DWORD k = GetMappedFileNameW(GetCurrentProcess(), mb.BaseAddress, name,
                                     2 * MAX_PATH);
        if (k < tail_len || _wcsicmp(name + k - tail_len, tail) != 0)
            continue;
        const char *start = NULL;
        size_t length = 0;
        MEMORY_BASIC_INFORMATION r = mb;
        do {
            if (r.Protect != PAGE_NOACCESS) {
                if (!start)
                    start = r.BaseAddress;
                length += r.RegionSize;
            }
        } while (VirtualQuery((const char *)r.BaseAddress + r.RegionSize, &r, sizeof r) ==
                     sizeof r &&
                 r.AllocationBase == mb.AllocationBase);
        if (!start)
            continue;
        if (out && n < max) {
            out[n].offset = offset_of(file, (uint64_t)size.QuadPart,
                                      (const unsigned char *)start, length);
            out[n].length = length;
        }
        n++;
    }
    CloseHandle(file);
    return n;
}

int util_valgrind(void)
{
    return 0;
}

/* Windows names the faulting address exactly and maps any offset: the
 * probes that qemu-i386 fails have nothing to find here. */
void util_require_mmap_above_4gib(void)
{
}

void util_require_exact_sigbus(void)
{
}

size_t util_page(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}
