/*
 * fixup_copy_x86_64.S - int64_t smmap__fixup_copy(void *dst, const void *src,
 * size_t len) with the System V calling convention on every OS (Windows
 * callers declare it sysv_abi): len, or -1 when a fault handler moved a
 * faulting copy to smmap__fixup_copy_fixup. A leaf without a frame, so resuming at the
 * fixup returns straight to the caller; see fixup_copy.h.
 *
 * Up to 64 bytes are copied by overlapping loads that keep rsi and rdx (the
 * source range) intact, all before the first store; longer copies by rep
 * movsb, which leaves the rest of the source range in rsi and rcx. rdx
 * keeps len to the end, which is returned: a caller that returns the count
 * can then jump here as its last act.
 */
#ifdef __ELF__
#define FUNC(name) .globl name; .hidden name; .type name, @function; name:
#define LABEL(name) .globl name; .hidden name; name:
#define END(name) .size name, . - name
#else
#define FUNC(name) .globl name; .def name; .scl 2; .type 32; .endef; name:
#define LABEL(name) .globl name; name:
#define END(name)
#endif

    .text
FUNC(smmap__fixup_copy)
    cmp $64, %rdx
    ja 5f
    cmp $16, %rdx
    jb 2f
    cmp $32, %rdx
    jbe 1f
    movdqu (%rsi), %xmm0
    movdqu 16(%rsi), %xmm1
    movdqu -32(%rsi,%rdx), %xmm2
    movdqu -16(%rsi,%rdx), %xmm3
    movdqu %xmm0, (%rdi)
    movdqu %xmm1, 16(%rdi)
    movdqu %xmm2, -32(%rdi,%rdx)
    movdqu %xmm3, -16(%rdi,%rdx)
    mov %rdx, %rax
    ret
1:  movdqu (%rsi), %xmm0
    movdqu -16(%rsi,%rdx), %xmm1
    movdqu %xmm0, (%rdi)
    movdqu %xmm1, -16(%rdi,%rdx)
    mov %rdx, %rax
    ret
2:  cmp $8, %rdx
    jb 3f
    mov (%rsi), %rax
    mov -8(%rsi,%rdx), %rcx
    mov %rax, (%rdi)
    mov %rcx, -8(%rdi,%rdx)
    mov %rdx, %rax
    ret
3:  cmp $4, %rdx
    jb 4f
    mov (%rsi), %eax
    mov -4(%rsi,%rdx), %ecx
    mov %eax, (%rdi)
    mov %ecx, -4(%rdi,%rdx)
    mov %rdx, %rax
    ret
4:  test %rdx, %rdx
    jz 6f
    movzbl (%rsi), %eax
    movzbl -1(%rsi,%rdx), %ecx
    cmp $3, %rdx
    jb 7f
    movzbl 1(%rsi), %r8d
    mov %r8b, 1(%rdi)
7:  mov %al, (%rdi)
    mov %cl, -1(%rdi,%rdx)
6:  mov %rdx, %rax
    ret
5:  mov %rdx, %rcx
LABEL(smmap__fixup_copy_rep)
    rep movsb
    mov %rdx, %rax
    ret
LABEL(smmap__fixup_copy_fixup)
    mov $-1, %rax
    ret
END(smmap__fixup_copy)

#ifdef __ELF__
    .section .note.GNU-stack, "", @progbits
#endif
