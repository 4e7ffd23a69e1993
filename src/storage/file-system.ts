// The few file operations storage needs, behind an interface so that tests
// (and later the simulator) can inject ENOSPC, EIO or slow fsyncs. The
// real implementation maps them one to one onto node:fs/promises.

import { open as openFile, mkdir, readdir, readFile, rename, stat, unlink } from "node:fs/promises";

/** How a file is opened: "create" truncates or creates, "createExclusive" fails with EEXIST. */
export type OpenMode = "read" | "readWrite" | "create" | "createExclusive";

export interface FileHandle {
  /** Reads up to buffer.length bytes at `position`; returns how many were read. */
  read(buffer: Buffer, position: number): Promise<number>;
  /** Writes every byte of `data` at `position` (looping over short writes). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the data and the metadata needed to read it back. */
  datasync(): Promise<void>;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface FileStat {
  size: number;
  mtimeMs: number;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and its parents; no error when it exists. */
  mkdir(dir: string): Promise<void>;
  /** fsync of a directory, so that created, renamed and removed names are durable. */
  syncDirectory(dir: string): Promise<void>;
  stat(path: string): Promise<FileStat>;
}

const openFlags: Record<OpenMode, string> = { read: "r", readWrite: "r+", create: "w", createExclusive: "wx" };

type NodeFileHandle = Awaited<ReturnType<typeof openFile>>;

function wrapHandle(handle: NodeFileHandle): FileHandle {
  return {
    read: async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    write: async (data, position) => {
      let written = 0;
      while (written < data.length) {
        const result = await handle.write(data, written, data.length - written, position + written);
        written += result.bytesWritten;
      }
    },
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    size: async () => (await handle.stat()).size,
    close: () => handle.close(),
  };
}

/** The real file system. */
export const nodeFileSystem: FileSystem = {
  open: async (path, mode) => wrapHandle(await openFile(path, openFlags[mode])),
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  readdir: (dir) => readdir(dir),
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  syncDirectory: async (dir) => {
    const handle = await openFile(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  stat: async (path) => {
    const stats = await stat(path);
    return { size: stats.size, mtimeMs: stats.mtimeMs };
  },
};
