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
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static _Thread_local sigjmp_buf *guard_jump;
static _Thread_local const char *guard_lo, *guard_hi;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    const char *addr = si->si_addr;
    if (guard_jump && addr >= guard_lo && addr < guard_hi)
        siglongjmp(*guard_jump, 1);
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
}

int guard_copy(void *dst, const void *src, size_t len)
{
    pthread_once(&installed, install);
    sigjmp_buf jump;
    if (sigsetjmp(jump, 0)) {
        guard_jump = NULL;
        return SMMAP_ETRUNC;
    }
    guard_lo = src;
    guard_hi = (const char *)src + len;
    guard_jump = &jump;
    /* The fences keep the compiler from moving the copy outside the
     * guarded stretch; the handler runs on this thread. */
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(dst, src, len);
    atomic_signal_fence(memory_order_seq_cst);
    guard_jump = NULL;
    return 0;
}
