// CRC32C (Castagnoli), the checksum of every log record, snapshot chunk and
// file header. @node-rs/crc32 computes it with the CPU's CRC32 instruction
// (SSE 4.2 on x86-64, the CRC extension on ARMv8) and ships prebuilt
// binaries for the common platforms.

import { crc32c as nativeCrc32c } from "@node-rs/crc32";

/** CRC32C of `bytes`, continuing from `previous` (0 to start), as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32c(bytes, previous) >>> 0;
}
