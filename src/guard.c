/*
 * guard.c - copies that survive a file truncated under its mapping.
 *
 * Touching a mapped page past the new end of a file raises SIGBUS. The
 * handler, installed once, recovers a fault that hit the source of a
 * guarded copy and passes any other fault to the handler that was there
 * before.
 *
 * Two ways to recover. On x86-64 and AArch64 Linux the copy is a small
 * routine of our own: the handler sees the fault inside it, with the rest
 * of the source range still in its registers, and resumes at a fixup that
 * returns "truncated" - as the kernel does for copies from user space.
 * That costs nothing per copy, where a sigsetjmp per copy made random
 * 64-byte reads three times slower on x86-64 (5.7 against 17 Mops/s).
 * Other platforms, sanitizer builds and runs under valgrind take the
 * portable way: a thread-local jump buffer set with sigsetjmp (without
 * saving the signal mask) once per copy.
 */
#include "internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !__has_feature(address_sanitizer) && \
    !__has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define FIXUP_COPY 1
#endif

/* int smmap__fixup_copy(void *dst, const void *src, size_t len): 0, or 1
 * when the handler moved a faulting copy to the fixup. A leaf without a
 * frame, so resuming at the fixup returns straight to the caller. Each
 * architecture has its routine and its recover_fixup(), which tells a fault
 * on the part of the source not yet copied (ours) from any other. */
#if defined(FIXUP_COPY) && defined(__x86_64__)
/* Up to 64 bytes are copied by overlapping loads that keep rsi and rdx
 * (the source range) intact, all before the first store; longer copies by
 * rep movsb, which leaves the rest of the source range in rsi and rcx. */
__asm__(".text\n"
        ".globl smmap__fixup_copy\n"
        ".hidden smmap__fixup_copy\n"
        ".type smmap__fixup_copy, @function\n"
        "smmap__fixup_copy:\n"
        "    cmp $64, %rdx\n"
        "    ja 5f\n"
        "    cmp $16, %rdx\n"
        "    jb 2f\n"
        "    cmp $32, %rdx\n"
        "    jbe 1f\n"
        "    movdqu (%rsi), %xmm0\n"
        "    movdqu 16(%rsi), %xmm1\n"
        "    movdqu -32(%rsi,%rdx), %xmm2\n"
        "    movdqu -16(%rsi,%rdx), %xmm3\n"
        "    movdqu %xmm0, (%rdi)\n"
        "    movdqu %xmm1, 16(%rdi)\n"
        "    movdqu %xmm2, -32(%rdi,%rdx)\n"
        "    movdqu %xmm3, -16(%rdi,%rdx)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        "1:  movdqu (%rsi), %xmm0\n"
        "    movdqu -16(%rsi,%rdx), %xmm1\n"
        "    movdqu %xmm0, (%rdi)\n"
        "    movdqu %xmm1, -16(%rdi,%rdx)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        "2:  cmp $8, %rdx\n"
        "    jb 3f\n"
        "    mov (%rsi), %rax\n"
        "    mov -8(%rsi,%rdx), %rcx\n"
        "    mov %rax, (%rdi)\n"
        "    mov %rcx, -8(%rdi,%rdx)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        "3:  cmp $4, %rdx\n"
        "    jb 4f\n"
        "    mov (%rsi), %eax\n"
        "    mov -4(%rsi,%rdx), %ecx\n"
        "    mov %eax, (%rdi)\n"
        "    mov %ecx, -4(%rdi,%rdx)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        "4:  test %rdx, %rdx\n"
        "    jz 6f\n"
        "    movzbl (%rsi), %eax\n"
        "    movzbl -1(%rsi,%rdx), %ecx\n"
        "    cmp $3, %rdx\n"
        "    jb 7f\n"
        "    movzbl 1(%rsi), %r8d\n"
        "    mov %r8b, 1(%rdi)\n"
        "7:  mov %al, (%rdi)\n"
        "    mov %cl, -1(%rdi,%rdx)\n"
        "6:  xor %eax, %eax\n"
        "    ret\n"
        "5:  mov %rdx, %rcx\n"
        ".globl smmap__fixup_copy_rep\n"
        ".hidden smmap__fixup_copy_rep\n"
        "smmap__fixup_copy_rep:\n"
        "    rep movsb\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".globl smmap__fixup_copy_fixup\n"
        ".hidden smmap__fixup_copy_fixup\n"
        "smmap__fixup_copy_fixup:\n"
        "    mov $1, %eax\n"
        "    ret\n"
        ".size smmap__fixup_copy, . - smmap__fixup_copy\n");
int smmap__fixup_copy(void *dst, const void *src, size_t len);
extern const char smmap__fixup_copy_rep[], smmap__fixup_copy_fixup[];

/* A fault on the source of our copy, which is [rsi, rsi + rdx) before the
 * rep movsb and [rsi, rsi + rcx) in it. A fault on the destination is the
 * caller's and is passed on. */
static bool recover_fixup(siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *r = uc->uc_mcontext.gregs;
    uintptr_t rip = (uintptr_t)r[REG_RIP], addr = (uintptr_t)si->si_addr;
    uintptr_t src = (uintptr_t)r[REG_RSI];
    if (rip < (uintptr_t)smmap__fixup_copy || rip >= (uintptr_t)smmap__fixup_copy_fixup)
        return false;
    uintptr_t len = (uintptr_t)(rip == (uintptr_t)smmap__fixup_copy_rep ? r[REG_RCX] : r[REG_RDX]);
    if (addr < src || addr - src >= len)
        return false;
    r[REG_RIP] = (greg_t)(uintptr_t)smmap__fixup_copy_fixup;
    return true;
}

#elif defined(FIXUP_COPY) && defined(__aarch64__)
/* At every instruction that can fault, x1 and x2 hold the part of the
 * source not yet copied, and no load reaches outside it: a fault on the
 * source lies in [x1, x1 + x2), whichever byte of the access is reported.
 * Up to 64 bytes are copied by overlapping loads, all before the first
 * store; longer copies by 64-byte blocks, x0, x1 and x2 moved on after each
 * block's stores, until the short path takes the last 1 to 64 bytes. The
 * end is not copied by loads reaching back over bytes already copied: a
 * truncation meanwhile would make those fault outside the range. */
__asm__(".text\n"
        ".globl smmap__fixup_copy\n"
        ".hidden smmap__fixup_copy\n"
        ".type smmap__fixup_copy, %function\n"
        "smmap__fixup_copy:\n"
        "    cmp x2, #64\n"
        "    b.hi 5f\n"
        "0:  add x3, x1, x2\n" /* end of the source */
        "    add x4, x0, x2\n" /* end of the destination */
        "    cmp x2, #16\n"
        "    b.lo 2f\n"
        "    cmp x2, #32\n"
        "    b.ls 1f\n"
        "    ldp q0, q1, [x1]\n"
        "    ldp q2, q3, [x3, #-32]\n"
        "    stp q0, q1, [x0]\n"
        "    stp q2, q3, [x4, #-32]\n"
        "    mov w0, #0\n"
        "    ret\n"
        "1:  ldr q0, [x1]\n"
        "    ldr q1, [x3, #-16]\n"
        "    str q0, [x0]\n"
        "    str q1, [x4, #-16]\n"
        "    mov w0, #0\n"
        "    ret\n"
        "2:  cmp x2, #8\n"
        "    b.lo 3f\n"
        "    ldr x5, [x1]\n"
        "    ldr x6, [x3, #-8]\n"
        "    str x5, [x0]\n"
        "    str x6, [x4, #-8]\n"
        "    mov w0, #0\n"
        "    ret\n"
        "3:  cmp x2, #4\n"
        "    b.lo 4f\n"
        "    ldr w5, [x1]\n"
        "    ldr w6, [x3, #-4]\n"
        "    str w5, [x0]\n"
        "    str w6, [x4, #-4]\n"
        "    mov w0, #0\n"
        "    ret\n"
        /* 1 to 3 bytes: the first, the middle (len / 2) and the last. */
        "4:  cbz x2, 6f\n"
        "    lsr x7, x2, #1\n"
        "    ldrb w5, [x1]\n"
        "    ldrb w8, [x1, x7]\n"
        "    ldrb w6, [x3, #-1]\n"
        "    strb w5, [x0]\n"
        "    strb w8, [x0, x7]\n"
        "    strb w6, [x4, #-1]\n"
        "6:  mov w0, #0\n"
        "    ret\n"
        "5:  ldp q0, q1, [x1]\n"
        "    ldp q2, q3, [x1, #32]\n"
        "    stp q0, q1, [x0]\n"
        "    stp q2, q3, [x0, #32]\n"
        "    add x0, x0, #64\n"
        "    add x1, x1, #64\n"
        "    sub x2, x2, #64\n"
        "    cmp x2, #64\n"
        "    b.hi 5b\n"
        "    b 0b\n"
        ".globl smmap__fixup_copy_fixup\n"
        ".hidden smmap__fixup_copy_fixup\n"
        "smmap__fixup_copy_fixup:\n"
        "    mov w0, #1\n"
        "    ret\n"
        ".size smmap__fixup_copy, . - smmap__fixup_copy\n");
int smmap__fixup_copy(void *dst, const void *src, size_t len);
extern const char smmap__fixup_copy_fixup[];

/* A fault on the source of our copy, [x1, x1 + x2). A fault on the
 * destination is the caller's and is passed on. */
static bool recover_fixup(siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    mcontext_t *mc = &uc->uc_mcontext;
    uintptr_t pc = (uintptr_t)mc->pc, addr = (uintptr_t)si->si_addr;
    uintptr_t src = (uintptr_t)mc->regs[1], len = (uintptr_t)mc->regs[2];
    if (pc < (uintptr_t)smmap__fixup_copy || pc >= (uintptr_t)smmap__fixup_copy_fixup)
        return false;
    if (addr < src || addr - src >= len)
        return false;
    mc->pc = (uintptr_t)smmap__fixup_copy_fixup;
    return true;
}
#endif

static _Thread_local struct {
    sigjmp_buf *jump;
    const char *lo, *hi;
} guard;

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
#ifdef FIXUP_COPY
static bool fixup; /* set once, before installed: take the fixup copy */
#endif

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
    fixup = !RUNNING_ON_VALGRIND;
#endif
    atomic_store_explicit(&installed, true, memory_order_release);
}

int guard_copy(void *dst, const void *src, size_t len)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire))
        pthread_once(&install_once, install);
#ifdef FIXUP_COPY
    if (fixup)
        return smmap__fixup_copy(dst, src, len) ? SMMAP_ETRUNC : 0;
#endif
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
