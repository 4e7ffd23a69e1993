// A FileSystem that fails on request: ENOSPC on the next write, EIO on the
// next fsync, a write that lands only part of its bytes before failing (as
// a full disk does), or an fsync held open until the test releases it. It
// counts every operation, which is how tests see that group commit batches.
// Used by the storage tests and meant for the simulator's disk faults.

import { nodeFileSystem, type FileHandle, type FileStat, type FileSystem, type OpenMode } from "./file-system.js";

export type FileOperation = "open" | "write" | "datasync" | "sync" | "truncate" | "rename" | "unlink" | "syncDirectory";

export interface Fault {
  operation: FileOperation;
  /** errno-style code the failure carries: "ENOSPC", "EIO", ... */
  code: string;
  /** Only paths containing this text fail (default: every path). */
  pathIncludes?: string;
  /** How many calls fail before the fault clears (default 1; Infinity until clearFaults). */
  times?: number;
  /** For writes: how many bytes land before the failure (default 0). */
  partialBytes?: number;
}

function injectedError(fault: Fault, path: string): Error {
  return Object.assign(new Error(`${fault.code}: injected ${fault.operation} failure on ${path}`), { code: fault.code });
}

export class FaultInjectingFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  readonly #faults: Fault[] = [];
  readonly counts: Record<FileOperation, number> = {
    open: 0,
    write: 0,
    datasync: 0,
    sync: 0,
    truncate: 0,
    rename: 0,
    unlink: 0,
    syncDirectory: 0,
  };
  /** Awaited before every datasync and sync reaches the disk (hold an fsync open). */
  beforeSync: (() => Promise<void>) | null = null;

  constructor(inner: FileSystem = nodeFileSystem) {
    this.#inner = inner;
  }

  inject(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Counts the call and returns the fault it triggers, if any. */
  #take(operation: FileOperation, path: string): Fault | undefined {
    this.counts[operation]++;
    const index = this.#faults.findIndex(
      (fault) => fault.operation === operation && (fault.pathIncludes === undefined || path.includes(fault.pathIncludes)),
    );
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) this.#faults.splice(index, 1);
    else fault.times = times;
    return fault;
  }

  #check(operation: FileOperation, path: string): void {
    const fault = this.#take(operation, path);
    if (fault !== undefined) throw injectedError(fault, path);
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.#check("open", path);
    return this.#wrap(path, await this.#inner.open(path, mode));
  }

  #wrap(path: string, handle: FileHandle): FileHandle {
    const synced = async (operation: "datasync" | "sync", run: () => Promise<void>): Promise<void> => {
      this.#check(operation, path);
      if (this.beforeSync !== null) await this.beforeSync();
      await run();
    };
    return {
      read: (buffer, position) => handle.read(buffer, position),
      write: async (data, position) => {
        const fault = this.#take("write", path);
        if (fault === undefined) return handle.write(data, position);
        const partial = Math.min(fault.partialBytes ?? 0, data.length);
        if (partial > 0) await handle.write(data.subarray(0, partial), position);
        throw injectedError(fault, path);
      },
      datasync: () => synced("datasync", () => handle.datasync()),
      sync: () => synced("sync", () => handle.sync()),
      truncate: async (length) => {
        this.#check("truncate", path);
        await handle.truncate(length);
      },
      size: () => handle.size(),
      close: () => handle.close(),
    };
  }

  readFile(path: string): Promise<Buffer> {
    return this.#inner.readFile(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.#check("rename", to);
    await this.#inner.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    this.#check("unlink", path);
    await this.#inner.unlink(path);
  }

  readdir(dir: string): Promise<string[]> {
    return this.#inner.readdir(dir);
  }

  mkdir(dir: string): Promise<void> {
    return this.#inner.mkdir(dir);
  }

  async syncDirectory(dir: string): Promise<void> {
    this.#check("syncDirectory", dir);
    await this.#inner.syncDirectory(dir);
  }

  stat(path: string): Promise<FileStat> {
    return this.#inner.stat(path);
  }
}
