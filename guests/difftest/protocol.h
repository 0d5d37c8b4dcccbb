/*
 * Wire format between the differential-test runner and this harness. Everything is little-endian and
 * packed; the C# side (tests/Jit.Differential.Tests/Protocol.cs) mirrors these numbers.
 *
 * On start the harness writes a hello: u32 HELLO_MAGIC, u32 PROTOCOL_VERSION, u64 REGION_BASE.
 *
 * Each case on stdin:
 *   u32 CASE_MAGIC (END_MAGIC instead ends the stream)
 *   u16 chunk count, u16 scratch length in bytes (at most SCRATCH_MAX, a multiple of 8)
 *   the registers (REGS_WORDS words, below)
 *   chunk count times: u32 byte offset in the region, u32 word count, the words
 *   the scratch bytes, placed at REGION_BASE + SCRATCH_OFFSET
 * Execution starts at REGION_BASE. The word END_WORD (an HVC the Jit side stops at) is replaced here by a
 * branch to the exit stub, so both sides see the same bytes everywhere else.
 *
 * Each result on stdout:
 *   u32 RESULT_MAGIC, u32 status (0: reached END_WORD, otherwise the signal that stopped the case)
 *   u64 faulting PC, u64 fault address (both 0 unless status != 0)
 *   the registers as they were at the end (or at the fault)
 *   the scratch bytes
 *
 * The registers: u64 X0..X30, u64 SP, u64 NZCV, u64 FPCR, u64 FPSR, u64 zero, then V0..V31 as 128-bit
 * values (low doubleword first), 16-byte aligned so the stubs move them with LDP/STP of Q registers.
 */
#ifndef DIFFTEST_PROTOCOL_H
#define DIFFTEST_PROTOCOL_H

#define HELLO_MAGIC      0x3154444au /* "JDT1" */
#define PROTOCOL_VERSION 3u
#define CASE_MAGIC       0x45534143u /* "CASE" */
#define END_MAGIC        0x21444e45u /* "END!" */
#define RESULT_MAGIC     0x544c5352u /* "RSLT" */

#define REGION_BASE      0x10000000ul
#define REGION_SIZE      0x10000ul
/* Chunks may use [0, CODE_LIMIT) except the scratch pages; the rest holds the harness's stubs. */
#define CODE_LIMIT       0xf000ul
#define SCRATCH_PAGES    0x8000ul
#define SCRATCH_PAGES_SIZE 0x2000ul
/* The scratch bytes straddle the boundary of the two pages, so unaligned accesses may cross pages. */
#define SCRATCH_OFFSET   0x8f80ul
#define SCRATCH_MAX      0x1000ul
#define EXIT_STUB_OFFSET 0xf800ul
#define ENTRY_STUB_OFFSET 0xfc00ul

/* hvc #0xd1ff */
#define END_WORD         (0xd4000002u | (0xd1ffu << 5))

#define REGS_WORDS       100
/* Byte offsets in the register record. */
#define REGS_FPCR        264
#define REGS_FPSR        272
#define REGS_V           288
#define MAX_CHUNKS       64

#endif
