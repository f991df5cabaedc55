/*
 * guard_posix.c - copies that survive a file truncated under its mapping
 * (os.h's smmap__guard_copy on POSIX systems).
 *
 * Touching a mapped page past the new end of a file raises SIGBUS. The
 * handler, installed once, recovers a fault that hit the source of a
 * guarded copy and passes any other fault to the handler that was there
 * before.
 *
 * Two ways to recover. On x86-64 and AArch64 Linux the copy is a small
 * routine of our own that the handler resumes at a fixup (fixup_copy.h).
 * Other platforms, sanitizer builds and runs under valgrind take the
 * portable way: a thread-local jump buffer set with sigsetjmp (without
 * saving the signal mask) once per copy.
 */
#include "fixup_copy.h"
#include "os.h"
#include "smmap.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

/* valgrind does not resume where a handler moved the faulting instruction
 * to; under it the portable way is taken. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef __has_feature
#define __has_feature(x) 0
#endif
/* Sanitizer builds take the portable way, so that their checks see the
 * copy (and CI exercises both ways). */
#if defined(HAVE_FIXUP_COPY) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !__has_feature(address_sanitizer) && \
    !__has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define FIXUP_COPY 1
#endif

#ifdef FIXUP_COPY
static bool recover_fixup(siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uintptr_t addr = (uintptr_t)si->si_addr;
#if defined(__x86_64__)
    greg_t *r = uc->uc_mcontext.gregs;
    uintptr_t pc = (uintptr_t)r[REG_RIP];
    uintptr_t len = (uintptr_t)(pc == (uintptr_t)smmap__fixup_copy_rep ? r[REG_RCX] : r[REG_RDX]);
    if (!fixup_owns(pc, addr, (uintptr_t)r[REG_RSI], len))
        return false;
    r[REG_RIP] = (greg_t)(uintptr_t)smmap__fixup_copy_fixup;
#else
    mcontext_t *mc = &uc->uc_mcontext;
    if (!fixup_owns((uintptr_t)mc->pc, addr, (uintptr_t)mc->regs[1], (uintptr_t)mc->regs[2]))
        return false;
    mc->pc = (uintptr_t)smmap__fixup_copy_fixup;
#endif
    return true;
}
#endif

/* The guarded range of this thread's innermost portable copy or call. */
struct guarded {
    sigjmp_buf *jump;
    const char *lo, *hi;
};
static _Thread_local struct guarded guard;

static bool recover(siginfo_t *si, void *ctx)
{
#ifdef FIXUP_COPY
    if (recover_fixup(si, ctx))
        return true;
#endif
    const char *addr = si->si_addr;
    if (guard.jump && addr >= guard.lo && addr < guard.hi) {
        /* Leave with the mask the copy ran with. SA_NODEFER keeps SIGBUS
         * open in our own handler, but whoever calls it may block signals
         * (ThreadSanitizer runs handlers with all of them blocked), and the
         * jump, which saves no mask, would leave them blocked: the next
         * fault would then kill the process. */
        pthread_sigmask(SIG_SETMASK, &((ucontext_t *)ctx)->uc_sigmask, NULL);
        siglongjmp(*guard.jump, 1);
    }
    return false;
}

static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static atomic_bool installed;
_Atomic bool smmap__guard_fixup;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    /* Only a fault (si_code > 0) can be ours; a SIGBUS sent with kill(2)
     * or raise(3) is passed on whatever the thread was doing. */
    bool sent = si->si_code <= 0;
    if (!sent && recover(si, ctx))
        return;
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, ctx);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else if (sent) {
        /* Ignored: nothing to do. Default: end the process as it would have
         * without us (SA_NODEFER lets the signal in at once). */
        if (previous.sa_handler == SIG_DFL) {
            signal(SIGBUS, SIG_DFL);
            raise(sig);
        }
    } else {
        /* A fault that is not ours and nobody else's: restore the default
         * action; returning re-runs the faulting access, which then ends
         * the process as it would have without us (an ignored fault would
         * re-run forever). */
        signal(SIGBUS, SIG_DFL);
    }
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    /* SA_NODEFER: leaving by longjmp must not leave SIGBUS blocked, or the
     * next fault would kill the process outright. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous);
#ifdef FIXUP_COPY
    atomic_store_explicit(&smmap__guard_fixup, !RUNNING_ON_VALGRIND, memory_order_relaxed);
#endif
    atomic_store_explicit(&installed, true, memory_order_release);
}

static inline void ensure_installed(void)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire))
        pthread_once(&install_once, install);
}

int smmap__guard_copy_slow(void *dst, const void *src, size_t len)
{
    ensure_installed();
#ifdef FIXUP_COPY
    if (atomic_load_explicit(&smmap__guard_fixup, memory_order_relaxed))
        return smmap__fixup_copy(dst, src, len) < 0 ? SMMAP_ETRUNC : 0;
#endif
    const struct guarded outer = guard;
    sigjmp_buf jump;
    if (sigsetjmp(jump, 0)) {
        guard = outer;
        return SMMAP_ETRUNC;
    }
    guard = (struct guarded){&jump, src, (const char *)src + len};
    /* The fences keep the compiler from moving the copy outside the
     * guarded stretch; the handler runs on this thread. */
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(dst, src, len);
    atomic_signal_fence(memory_order_seq_cst);
    guard = outer;
    return 0;
}

int smmap__guard_call(smmap_scan_fn fn, void *arg, const unsigned char *data,
                      size_t len, uint64_t offset)
{
    ensure_installed();
    const struct guarded outer = guard;
    sigjmp_buf jump;
    if (sigsetjmp(jump, 0)) {
        guard = outer;
        return SMMAP_ETRUNC;
    }
    guard = (struct guarded){&jump, (const char *)data, (const char *)data + len};
    atomic_signal_fence(memory_order_seq_cst);
    int rc = fn(arg, data, len, offset);
    atomic_signal_fence(memory_order_seq_cst);
    guard = outer;
    return rc;
}
