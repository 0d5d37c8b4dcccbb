// A page of code that the MMU guest maps again at other addresses with other execute permissions.
    .text
    .balign 4096
    .global codepage
codepage:
    // Offset 0: entered at EL0.
    svc     #9
    b       codepage
    // Offset 8: called at EL1, returns 77.
    mov     x0, #77
    ret
    .balign 4096
