/* The hostile PCI guest (issue 15, malformed input): shared state of its parts.
   main.c   the seeded generator, the address picker, the operation loop, the canary and the summary
   pci.c    ECAM enumeration, BAR assignment, capabilities, random configuration and BAR accesses, MSI-X
   virtq.c  virtio-pci set-up and hostile virtqueues
   its.c    the ITS and the redistributors' LPI registers, sane and hostile
   access.S the MMIO accesses that may fault; the exception hook resumes after them
   Jit only: the addresses are those of Jit's Linux platform (src/Hypervisor/Builder/GuestMemoryMap.cs). */
#ifndef HOSTILE_H
#define HOSTILE_H

#include "sys.h"

typedef unsigned short u16;
typedef unsigned char u8;

/* ---- platform (GuestMemoryMap.cs) ---- */
#define ECAM_BASE     0x10000000UL
#define ECAM_SIZE     0x10000000UL
#define PCI_MEM32     0x23000000UL
#define PCI_MEM32_END 0x33000000UL
#define PCI_MEM64     0x100000000UL
#define PCI_MEM64_END 0x200000000UL
#define GICD_BASE     0x03001000UL
#define GICR_BASE     0x03020000UL
#define GICR_FRAME    0x20000UL
#define GITS_BASE     0x03120000UL
#define GITS_TRANSLATER (GITS_BASE + 0x10040)
#define UART_BASE     0x22000000UL
#define RAM1_BASE     0x200000000UL

/* ---- guest RAM, from the bottom: image (linked at +2 MiB), canary, ITS arena, virtqueue arena ----
   Devices and the ITS are only ever handed addresses in their arena or outside RAM; everything a device may
   legitimately write lies above the address it was given (lengths only grow upwards), so the canary below both
   arenas is never handed to anyone and must come through intact. The ITS arena sits below the virtqueue arena,
   and within the virtqueue arena what devices write (data, status bytes: the buffers region) lies above
   everything they read for structure (rings, descriptor and indirect tables, request headers): what virtio-rng
   returns, and what the disk held, never decide what the ITS or a queue does next, so the same seed makes
   the same operations. */
#define CANARY_BASE   0x40400000UL
#define CANARY_SIZE   0x00800000UL
#define ITS_ARENA     0x41000000UL
#define ITS_REACH     0x00100000UL /* the furthest the ITS reads or writes from one base: a 1 MiB queue */
#define VQ_ARENA      0x43000000UL
#define VQ_HOME       VQ_ARENA                /* 128 KiB of rings per (function, queue) */
#define VQ_RINGS      (VQ_ARENA + 0x0400000)  /* rings placed at random */
#define VQ_TABLES     (VQ_ARENA + 0x0800000)  /* request headers and indirect tables */
#define VQ_BUFFERS    (VQ_ARENA + 0x0C00000)  /* what devices write */
#define VQ_ARENA_END  0x45000000UL
/* The final check's own tables, never handed out during the hostile phase. */
#define FINAL_ARENA   0x42F00000UL

/* ---- the generator ---- */
u64 rnd(void);
u64 below(u64 n);
int chance(int percent);
/* An address for a device or the ITS to use: mostly in `arena` (aligned, with room for len bytes), otherwise
   one of the hostile places: outside RAM, MMIO, across an edge of RAM, the top of an IPA size, random. */
enum arena { ARENA_ITS, ARENA_RINGS, ARENA_TABLES, ARENA_BUFFERS };
u64 pick_address(enum arena arena, u64 len, u64 align);
u64 arena_address(enum arena arena, u64 len, u64 align);
int in_vq_arena(u64 a, u64 len);

/* ---- MMIO that may fault (access.S) ---- */
u64 mmio_rd(u64 a, int size);           /* size 1, 2, 4, 8 or 16 (a pair of 8) */
void mmio_wr(u64 a, int size, u64 v);
/* One of the access forms an OS never uses on MMIO: exclusives, acquire/release, LDNP/STNP, LDTR/STTR, LSE
   atomics, DC ZVA. */
void mmio_exotic(u64 a, u64 v);

/* ---- counters, one set per vCPU (TPIDR_EL1 holds the vCPU's index) ---- */
enum op { OP_CFG, OP_BAR, OP_MSIX, OP_VQ_SETUP, OP_VQ_SUBMIT, OP_ITS_REG, OP_ITS_CMD, OP_TRANSLATER, OP_GICR,
          OP_REPAIR, OP_KINDS };
struct tally {
    u64 ops[OP_KINDS];
    u64 ticks[OP_KINDS]; /* counter ticks spent in each kind */
    u64 faults, needs_reset, its_stalled, chains, notifies, completed, lpis;
    u64 rng; /* the generator's state */
};
#define MAX_CPUS 2
extern struct tally tallies[MAX_CPUS];
static inline struct tally *tally(void) { return &tallies[sysreg_read(tpidr_el1)]; }

/* ---- PCI (pci.c) ---- */
#define MAX_FUNCTIONS 8
#define MAX_QUEUES 4
struct vq {
    u64 desc, avail, used;
    u16 size, avail_idx;
    int enabled;
};
struct function {
    u32 bdf;        /* the requester ID: bus << 8 | device << 3 | function */
    u64 cfg;        /* its 4 KiB in the ECAM window */
    u16 vendor, device;
    u64 bar[6], bar_size[6];
    int bar64[6];
    u8 cap_pm, cap_msix, cap_pcie, cap_common, cap_notify, cap_isr, cap_device, cap_pcicfg;
    u8 caps[16];
    int ncaps;
    u64 common, notify, isr, devcfg;
    u32 notify_mult, devcfg_len;
    u64 msix_table, msix_pba;
    u32 msix_vectors;
    u16 nqueues;
    struct vq q[MAX_QUEUES];
    int is_blk;
    u64 capacity; /* virtio-blk sectors */
};
extern struct function fns[MAX_FUNCTIONS];
extern int nfns;

static inline u64 ecam(u32 bus, u32 dev, u32 fn, u32 reg) { return ECAM_BASE + ((u64)bus << 20 | dev << 15 | fn << 12 | reg); }
void pci_enumerate(void);
void pci_repair(struct function *f);
/* A driver that finds its device broken starts it again: a queue in its home rings, DRIVER_OK. */
void virtio_recover(struct function *f);
void op_cfg(void);
void op_bar(void);
void op_msix(void);
/* The BAR address of a structure as the function decodes it now. */
u64 bar_region(struct function *f, u8 cap);

/* ---- virtio (virtq.c) ---- */
#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define COMMON_DFSELECT 0x00
#define COMMON_DF       0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF       0x0C
#define COMMON_MSIX     0x10
#define COMMON_NUMQ     0x12
#define COMMON_STATUS   0x14
#define COMMON_GEN      0x15
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE   0x18
#define COMMON_Q_MSIX   0x1A
#define COMMON_Q_ENABLE 0x1C
#define COMMON_Q_NOFF   0x1E
#define COMMON_Q_DESC   0x20
#define COMMON_Q_DRIVER 0x28
#define COMMON_Q_DEVICE 0x30
void op_vq_setup(void);
void op_vq_submit(void);
void virtio_reset(struct function *f);
/* A well-behaved driver's set-up of queue 0 with `vector` (0xFFFF for none); returns 0 when the device refused. */
int virtio_start(struct function *f, u64 rings, u16 size, u16 vector);
/* The same with each area where the caller says, written by nobody first: they may be anywhere. */
int virtio_start_at(struct function *f, u64 desc, u64 driver, u64 device, u16 size, u16 vector);
/* One well-formed request through queue 0 started by virtio_start; returns the used length, or -1 if unused. */
long virtio_request(struct function *f, u64 bufs);
void trigger_interrupt(struct function *f, u16 vector);

/* ---- ITS and LPIs (its.c) ---- */
void its_setup(void);
void its_restore(void);
void op_its_reg(void);
void op_its_cmd(void);
void op_translater(void);
void op_gicr(void);
/* After the hostile phase: fresh tables, the blk function's event 1 mapped to LPI FINAL_LPI on CPU 0. */
int its_final(u32 deviceid);
#define FINAL_LPI 8200
u32 gic_ack_lpi(u32 want, u64 tries);

#endif
