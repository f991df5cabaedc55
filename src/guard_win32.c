/*
 * guard_win32.c - copies that survive a file truncated under its view
 * (os.h's smmap__guard_copy on Windows).
 *
 * Windows itself refuses to shrink a file that has a view, but another
 * system sharing the file (a network server, wine's host) can cut it, and
 * then touching a lost page raises EXCEPTION_IN_PAGE_ERROR (wine raises an
 * access violation). A vectored exception handler, added once, resumes a
 * fault on the source of our copy at the copy routine's fixup
 * (fixup_copy.h), leaves a guarded call through escape() and lets every
 * other exception go on to the next handler.
 */
#include "fixup_copy.h"
#include "os.h"
#include "smmap.h"

#include <stdatomic.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#if !defined(__x86_64__)
#error "the Windows guard needs the x86-64 fixup copy"
#endif

/* The range of this thread's innermost guarded call. The jump buffer is
 * gcc's __builtin_setjmp one: its longjmp restores the frame and stack
 * pointers and jumps, without unwinding through SEH tables. */
struct guarded {
    void **jump;
    uintptr_t lo, hi;
};
static _Thread_local struct guarded guard;

/* Entered from the handler, as if called from the faulting instruction:
 * Windows has finished dispatching the exception by then. */
static void escape(void)
{
    __builtin_longjmp(guard.jump, 1);
}

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *er = ep->ExceptionRecord;
    CONTEXT *c = ep->ContextRecord;
    if ((er->ExceptionCode != EXCEPTION_IN_PAGE_ERROR &&
         er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) ||
        er->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    /* ExceptionInformation: [0] 0 for a read, [1] the address. */
    uintptr_t addr = (uintptr_t)er->ExceptionInformation[1];
    uintptr_t pc = (uintptr_t)c->Rip;
    uintptr_t len = pc == (uintptr_t)smmap__fixup_copy_rep ? c->Rcx : c->Rdx;
    if (er->ExceptionInformation[0] != 0)
        return EXCEPTION_CONTINUE_SEARCH;
    if (fixup_owns(pc, addr, c->Rsi, len)) {
        c->Rip = (DWORD64)(uintptr_t)smmap__fixup_copy_fixup;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    if (guard.jump && addr >= guard.lo && addr < guard.hi) {
        /* Resume in escape() as if called: the stack aligned as at a
         * function's entry. Nothing is written there now: below the
         * faulting Rsp lie this exception's own records, which Windows
         * reads back to resume; escape() never returns, and its frame
         * reuses that space only once they are dead. */
        c->Rsp = (c->Rsp & ~(DWORD64)15) - 8;
        c->Rip = (DWORD64)(uintptr_t)escape;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

static INIT_ONCE install_once = INIT_ONCE_STATIC_INIT;
static atomic_bool installed; /* spares each copy the call into Windows */

static BOOL CALLBACK install(INIT_ONCE *once, void *param, void **ctx)
{
    (void)once, (void)param, (void)ctx;
    /* First in line: a fault of ours must not reach a debugger's or a
     * runtime's handler that would treat it as a crash. */
    if (!AddVectoredExceptionHandler(1, on_exception))
        return FALSE;
    atomic_store_explicit(&smmap__guard_fixup, true, memory_order_relaxed);
    atomic_store_explicit(&installed, true, memory_order_release);
    return TRUE;
}

static inline void ensure_installed(void)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire))
        InitOnceExecuteOnce(&install_once, install, NULL, NULL);
}

_Atomic bool smmap__guard_fixup;

int smmap__guard_copy_slow(void *dst, const void *src, size_t len)
{
    ensure_installed();
    return smmap__fixup_copy(dst, src, len) < 0 ? SMMAP_ETRUNC : 0;
}

int smmap__guard_call(smmap_scan_fn fn, void *arg, const unsigned char *data,
                      size_t len, uint64_t offset)
{
    ensure_installed();
    const struct guarded outer = guard;
    void *jump[5];
    if (__builtin_setjmp(jump)) {
        guard = outer;
        return SMMAP_ETRUNC;
    }
    guard = (struct guarded){jump, (uintptr_t)data, (uintptr_t)data + len};
    atomic_signal_fence(memory_order_seq_cst);
    int rc = fn(arg, data, len, offset);
    atomic_signal_fence(memory_order_seq_cst);
    guard = outer;
    return rc;
}
