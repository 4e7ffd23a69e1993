// The data directory's small files and names: the lock that keeps a second
// process out, the persistent secret session passwords derive from, and
// the listing of snapshots, log segments and leftover temporary files.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { errorMessage, StorageError, StorageErrorCode, systemErrorCode } from "./errors.js";
import type { FileSystem } from "./file-system.js";
import { parseSegmentFileName } from "./segment.js";
import { parseSnapshotFileName } from "./snapshot.js";

export const lockFileName = "maestro.lock";
export const secretFileName = "secret";
export const secretBytes = 32;
export const temporarySuffix = ".tmp";

export interface NamedZxid {
  name: string;
  zxid: bigint;
}

export interface DataDirListing {
  /** Oldest first. */
  snapshots: NamedZxid[];
  /** Oldest first; zxid is the segment's base zxid. */
  segments: NamedZxid[];
  /** Leftovers of interrupted writes (*.tmp). */
  temporary: string[];
}

function byZxid(a: NamedZxid, b: NamedZxid): number {
  return a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0;
}

export async function listDataDir(fileSystem: FileSystem, dir: string): Promise<DataDirListing> {
  const listing: DataDirListing = { snapshots: [], segments: [], temporary: [] };
  for (const name of (await fileSystem.readdir(dir)).sort()) {
    const snapshotZxid = parseSnapshotFileName(name);
    const segmentZxid = parseSegmentFileName(name);
    if (snapshotZxid !== undefined) listing.snapshots.push({ name, zxid: snapshotZxid });
    else if (segmentZxid !== undefined) listing.segments.push({ name, zxid: segmentZxid });
    else if (name.endsWith(temporarySuffix)) listing.temporary.push(name);
  }
  listing.snapshots.sort(byZxid);
  listing.segments.sort(byZxid);
  return listing;
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return systemErrorCode(error) === "EPERM";
  }
}

/** The pid in the lock file, or null when there is no lock file or it holds no pid. */
export async function readLockOwner(fileSystem: FileSystem, dir: string): Promise<number | null> {
  let text: string;
  try {
    text = (await fileSystem.readFile(join(dir, lockFileName))).toString("utf8").trim();
  } catch (error) {
    if (systemErrorCode(error) === "ENOENT") return null;
    throw error;
  }
  return /^[0-9]{1,10}$/.test(text) ? Number(text) : null;
}

export interface LockOptions {
  pid: number;
  processAlive: (pid: number) => boolean;
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export interface DataDirLock {
  /** Pid of a dead process whose lock was taken over, or null. */
  readonly staleOwnerPid: number | null;
  release(): Promise<void>;
}

/**
 * Takes the directory's lock: a file created exclusively, holding our pid.
 * A lock left by a dead process (killed, crashed) is taken over with a
 * warning. Two processes taking over the same stale lock at the same
 * moment could both succeed; the pid check after writing narrows that
 * window to the time between the two unlinks, which is accepted.
 */
export async function acquireLock(fileSystem: FileSystem, dir: string, options: LockOptions): Promise<DataDirLock> {
  const path = join(dir, lockFileName);
  let staleOwnerPid: number | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await tryCreateLock(fileSystem, path, options.pid)) {
      if ((await readLockOwner(fileSystem, dir)) !== options.pid) break;
      return { staleOwnerPid, release: () => releaseLock(fileSystem, dir, options.pid) };
    }
    const owner = await readLockOwner(fileSystem, dir);
    if (owner !== null && options.processAlive(owner)) {
      throw new StorageError(StorageErrorCode.locked, `data directory ${dir} is in use by pid ${owner}`, { file: path });
    }
    staleOwnerPid = owner;
    const who = owner === null ? "an unreadable lock file" : `pid ${owner}, which is no longer running`;
    options.warn(`taking over the lock of data directory ${dir} from ${who}`, { dataDir: dir, stalePid: owner });
    await fileSystem.unlink(path).catch((error: unknown) => {
      if (systemErrorCode(error) !== "ENOENT") throw error;
    });
  }
  throw new StorageError(StorageErrorCode.locked, `data directory ${dir} is in use: another process took its lock at the same time`, { file: path });
}

async function tryCreateLock(fileSystem: FileSystem, path: string, pid: number): Promise<boolean> {
  let handle;
  try {
    handle = await fileSystem.open(path, "createExclusive");
  } catch (error) {
    if (systemErrorCode(error) === "EEXIST") return false;
    throw new StorageError(StorageErrorCode.read, `cannot create lock file ${path}: ${errorMessage(error)}`, { file: path, cause: error });
  }
  try {
    await handle.write(Buffer.from(`${pid}\n`), 0);
  } finally {
    await handle.close();
  }
  return true;
}

async function releaseLock(fileSystem: FileSystem, dir: string, pid: number): Promise<void> {
  if ((await readLockOwner(fileSystem, dir).catch(() => null)) !== pid) return;
  await fileSystem.unlink(join(dir, lockFileName)).catch(() => undefined);
}

/**
 * The 32-byte secret the server derives session passwords from, created
 * (temporary file, fsync, rename) on first start so that sessions survive
 * restarts. A secret file of any other size is damage.
 */
export async function loadOrCreateSecret(fileSystem: FileSystem, dir: string, unsafeNoFsync: boolean): Promise<Buffer> {
  const path = join(dir, secretFileName);
  try {
    const secret = await fileSystem.readFile(path);
    if (secret.length !== secretBytes) {
      throw new StorageError(StorageErrorCode.damaged, `${path}: secret holds ${secret.length} bytes, not ${secretBytes}`, { file: path, offset: 0 });
    }
    return secret;
  } catch (error) {
    if (systemErrorCode(error) !== "ENOENT") throw error;
  }
  const secret = randomBytes(secretBytes);
  const temporary = `${path}${temporarySuffix}`;
  const handle = await fileSystem.open(temporary, "create");
  try {
    await handle.write(secret, 0);
    if (!unsafeNoFsync) await handle.sync();
  } finally {
    await handle.close();
  }
  await fileSystem.rename(temporary, path);
  if (!unsafeNoFsync) await fileSystem.syncDirectory(dir);
  return secret;
}
