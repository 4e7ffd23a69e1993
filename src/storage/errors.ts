// Storage failures are values, not bugs: a full disk, a failing device, a
// damaged file or a busy data directory. Each carries a stable code, and
// damage carries the file and byte offset where it was found.

export const StorageErrorCode = {
  /** A write, fsync, truncate or file creation of the log failed (ENOSPC, EIO, ...). */
  write: "ERR_STORAGE_WRITE",
  /** Too many appends waiting for the disk (appendsQueuedMax). */
  overload: "ERR_STORAGE_OVERLOAD",
  /** Rejected because an earlier append failed: it may depend on that one. */
  aborted: "ERR_STORAGE_ABORTED",
  /** The storage was closed. */
  closed: "ERR_STORAGE_CLOSED",
  /** A delta too large for one log record (recordBytesMax). */
  tooLarge: "ERR_STORAGE_TOO_LARGE",
  /** A delta whose zxid does not follow the previous one. */
  zxidOrder: "ERR_STORAGE_ZXID_ORDER",
  /** A file fails its checks; file and offset say where. */
  damaged: "ERR_STORAGE_DAMAGED",
  /** Bytes that do not decode as a delta or a snapshot entry. */
  decode: "ERR_STORAGE_DECODE",
  /** The log does not cover the zxids between a snapshot and the log's records. */
  logGap: "ERR_STORAGE_LOG_GAP",
  /** Another live process holds the data directory's lock. */
  locked: "ERR_STORAGE_LOCKED",
  /** Reading the data directory failed (permissions, I/O errors). */
  read: "ERR_STORAGE_READ",
} as const;

export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export interface StorageErrorOptions {
  /** The file concerned, when there is one. */
  file?: string;
  /** Byte offset in `file` where damage starts. */
  offset?: number;
  cause?: unknown;
}

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
  }
}

/** The damage error every reader throws: names the file and the offset. */
export function damaged(file: string, offset: number, what: string): StorageError {
  return new StorageError(StorageErrorCode.damaged, `${file}: ${what} at byte offset ${offset}`, { file, offset });
}

/** The errno-style code of a file-system error (ENOSPC, EIO, ENOENT, ...), if any. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
