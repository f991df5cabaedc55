/*
 * fixup_copy_aarch64.S - int64_t smmap__fixup_copy(void *dst, const void *src,
 * size_t len): len (kept in x9), or -1 when a fault handler moved a faulting
 * copy to smmap__fixup_copy_fixup. A leaf without a frame, so resuming at the fixup
 * returns straight to the caller; see fixup_copy.h.
 *
 * At every instruction that can fault, x1 and x2 hold the part of the
 * source not yet copied, and no load reaches outside it: a fault on the
 * source lies in [x1, x1 + x2), whichever byte of the access is reported.
 * Up to 64 bytes are copied by overlapping loads, all before the first
 * store; longer copies by 64-byte blocks, x0, x1 and x2 moved on after each
 * block's stores, until the short path takes the last 1 to 64 bytes. The
 * end is not copied by loads reaching back over bytes already copied: a
 * truncation meanwhile would make those fault outside the range.
 */
    .text
    .globl smmap__fixup_copy
    .hidden smmap__fixup_copy
    .type smmap__fixup_copy, %function
smmap__fixup_copy:
    mov x9, x2
    cmp x2, #64
    b.hi 5f
0:  add x3, x1, x2          /* end of the source */
    add x4, x0, x2          /* end of the destination */
    cmp x2, #16
    b.lo 2f
    cmp x2, #32
    b.ls 1f
    ldp q0, q1, [x1]
    ldp q2, q3, [x3, #-32]
    stp q0, q1, [x0]
    stp q2, q3, [x4, #-32]
    mov x0, x9
    ret
1:  ldr q0, [x1]
    ldr q1, [x3, #-16]
    str q0, [x0]
    str q1, [x4, #-16]
    mov x0, x9
    ret
2:  cmp x2, #8
    b.lo 3f
    ldr x5, [x1]
    ldr x6, [x3, #-8]
    str x5, [x0]
    str x6, [x4, #-8]
    mov x0, x9
    ret
3:  cmp x2, #4
    b.lo 4f
    ldr w5, [x1]
    ldr w6, [x3, #-4]
    str w5, [x0]
    str w6, [x4, #-4]
    mov x0, x9
    ret
    /* 1 to 3 bytes: the first, the middle (len / 2) and the last. */
4:  cbz x2, 6f
    lsr x7, x2, #1
    ldrb w5, [x1]
    ldrb w8, [x1, x7]
    ldrb w6, [x3, #-1]
    strb w5, [x0]
    strb w8, [x0, x7]
    strb w6, [x4, #-1]
6:  mov x0, x9
    ret
5:  ldp q0, q1, [x1]
    ldp q2, q3, [x1, #32]
    stp q0, q1, [x0]
    stp q2, q3, [x0, #32]
    add x0, x0, #64
    add x1, x1, #64
    sub x2, x2, #64
    cmp x2, #64
    b.hi 5b
    b 0b
    .globl smmap__fixup_copy_fixup
    .hidden smmap__fixup_copy_fixup
smmap__fixup_copy_fixup:
    mov x0, #-1
    ret
    .size smmap__fixup_copy, . - smmap__fixup_copy

    .section .note.GNU-stack, "", %progbits
