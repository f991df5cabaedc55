/*
 * harness_win32.c - the runner's calls to Windows (harness_os.h). Windows
 * has no fork: each test runs in the program started again with
 * "--child INDEX BASE", which the runner terminates at its timeout.
 */
#include "harness_os.h"

#include <direct.h>
#include <stdio.h>
#include <string.h>

#include <windows.h>

int t_remove_tree(const char *path)
{
    char pattern[MAX_PATH + 4];
    snprintf(pattern, sizeof pattern, "%s\\*", path);
    WIN32_FIND_DATAA e;
    HANDLE h = FindFirstFileA(pattern, &e);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(e.cFileName, ".") == 0 || strcmp(e.cFileName, "..") == 0)
                continue;
            char sub[MAX_PATH + 4];
            snprintf(sub, sizeof sub, "%s\\%s", path, e.cFileName);
            if (e.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                t_remove_tree(sub);
            else
                DeleteFileA(sub);
        } while (FindNextFileA(h, &e));
        FindClose(h);
    }
    return RemoveDirectoryA(path) ? 0 : -1;
}

int t_make_temp_dir(char *out, size_t n, const char *tag)
{
    char tmp[MAX_PATH + 1];
    DWORD len = GetTempPathA(sizeof tmp, tmp);
    if (len == 0 || len > sizeof tmp)
        return -1;
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(out, n, "%ssmmap-%s-%lu-%u", tmp, tag, GetCurrentProcessId(),
                 (unsigned)(GetTickCount() + i));
        if (CreateDirectoryA(out, NULL))
            return 0;
        if (GetLastError() != ERROR_ALREADY_EXISTS)
            return -1;
    }
    return -1;
}

int t_os_make_dir(const char *path)
{
    return _mkdir(path);
}

int t_os_enter_dir(const char *path)
{
    return _chdir(path);
}

int t_os_run_child(const struct t_case *c, size_t index, const char *base, double timeout,
                   char *why, size_t n)
{
    (void)c; /* the child finds it again by index */
    char self[MAX_PATH + 1];
    GetModuleFileNameA(NULL, self, sizeof self);
    fflush(NULL);
    char cmd[3 * MAX_PATH];
    snprintf(cmd, sizeof cmd, "\"%s\" --child %lu \"%s\"", self, (unsigned long)index, base);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* stdout carries the TAP stream: what the test prints goes to stderr. */
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    if (!CreateProcessA(self, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        snprintf(why, n, "CreateProcess: error %lu", GetLastError());
        return -1;
    }
    CloseHandle(pi.hThread);
    DWORD ms = (DWORD)(timeout * 1000), code = 1;
    int rc;
    if (WaitForSingleObject(pi.hProcess, ms) == WAIT_TIMEOUT) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        snprintf(why, n, "timed out after %.0f s", timeout);
        rc = -1;
    } else {
        GetExitCodeProcess(pi.hProcess, &code);
        rc = code < 256 ? (int)code : -1;
        if (rc < 0)
            snprintf(why, n, "crashed: exception %#lx", code);
    }
    CloseHandle(pi.hProcess);
    return rc;
}

double t_os_now(void)
{
    return (double)GetTickCount64() / 1000;
}
