/*
 * fixup_copy.h - the copy routine a fault handler can resume at a fixup
 * (fixup_copy_<arch>.S), shared by guard_posix.c and guard_win32.c.
 *
 * The handler sees the fault inside the routine, with the rest of the
 * source range still in its registers, and resumes at a fixup that returns
 * "truncated" - as the kernel does for copies from user space. That costs
 * nothing per copy, where a sigsetjmp per copy made random 64-byte reads
 * three times slower on x86-64 (5.7 against 17 Mops/s).
 */
#ifndef SMMAP_FIXUP_COPY_H
#define SMMAP_FIXUP_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ELF and PE only: the routine's assembly uses their directives. */
#if (defined(__x86_64__) || defined(__aarch64__)) && \
    ((defined(__linux__) && !defined(SMMAP_PORTABLE_POSIX)) || defined(_WIN32))
#define HAVE_FIXUP_COPY 1

/* One routine for every OS: on x86-64 it takes its arguments the System V
 * way, which Windows callers are told. */
#if defined(__x86_64__) && defined(_WIN32)
#define FIXUP_ABI __attribute__((sysv_abi))
#else
#define FIXUP_ABI
#endif

/* len, or -1 when a handler moved a faulting copy to the fixup. */
FIXUP_ABI int64_t smmap__fixup_copy(void *dst, const void *src, size_t len);
extern const char smmap__fixup_copy_fixup[];
#ifdef __x86_64__
extern const char smmap__fixup_copy_rep[];
#endif

/* Whether a fault at pc on addr hit the part of the source the routine has
 * not copied yet, given the registers at the fault: on x86-64 the source is
 * rsi, its length rcx inside rep movsb (pc == the _rep label) and rdx
 * elsewhere; on AArch64, x1 and x2. A fault on the destination is the
 * caller's, never ours. */
static inline bool fixup_owns(uintptr_t pc, uintptr_t addr, uintptr_t src,
                              uintptr_t len)
{
    return pc >= (uintptr_t)smmap__fixup_copy &&
           pc < (uintptr_t)smmap__fixup_copy_fixup &&
           addr >= src && addr - src < len;
}
#endif

#endif
