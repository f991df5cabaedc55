/*
 * guard.c - copies that survive a file truncated under its mapping.
 *
 * Touching a mapped page past the new end of a file raises SIGBUS. A copy
 * records its source range and a jump buffer in thread-local storage; the
 * handler, installed once, jumps back when the fault lies in that range and
 * passes any other fault to the handler that was there before.
 */
#include "internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static atomic_bool installed;

/* One thread-local struct: in a shared library each thread-local variable
 * costs an address lookup, so the copy does one. */
static _Thread_local struct {
    sigjmp_buf *jump;
    const char *lo, *hi;
} guard;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    const char *addr = si->si_addr;
    if (guard.jump && addr >= guard.lo && addr < guard.hi)
        siglongjmp(*guard.jump, 1);
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, ctx);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        /* Not ours and nobody else's: restore the default action; returning
         * re-runs the faulting access, which then ends the process as it
         * would have without us. */
        sigaction(SIGBUS, &previous, NULL);
        if (previous.sa_handler == SIG_IGN)
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
    atomic_store_explicit(&installed, true, memory_order_release);
}

int guard_copy(void *dst, const void *src, size_t len)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire))
        pthread_once(&install_once, install);
    sigjmp_buf jump;
    if (sigsetjmp(jump, 0)) {
        guard.jump = NULL;
        return SMMAP_ETRUNC;
    }
    guard.lo = src;
    guard.hi = (const char *)src + len;
    guard.jump = &jump;
    /* The fences keep the compiler from moving the copy outside the
     * guarded stretch; the handler runs on this thread. */
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(dst, src, len);
    atomic_signal_fence(memory_order_seq_cst);
    guard.jump = NULL;
    return 0;
}
