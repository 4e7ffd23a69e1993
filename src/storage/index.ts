// Storage's public surface: the facade, check-data, and the pieces the
// simulator and tests reach for.

export { checkDataDir, type CheckOptions, type DataDirReport, type DataProblem, type RecoveryPreview, type SegmentCheck, type SnapshotCheck } from "./check.js";
export { crc32c } from "./crc32c.js";
export { lockFileName, secretBytes, secretFileName } from "./data-dir.js";
export { decodeDelta, encodeDelta } from "./delta-codec.js";
export { StorageError, StorageErrorCode, type StorageErrorOptions } from "./errors.js";
export { FaultInjectingFileSystem, type Fault, type FileOperation } from "./fault-file-system.js";
export { nodeFileSystem, type FileHandle, type FileStat, type FileSystem, type OpenMode } from "./file-system.js";
export { readSnapshot, writeSnapshot, type LoadedSnapshot, type SnapshotInfo } from "./snapshot.js";
export {
  NodeStorage,
  storageDefaults,
  type OpenedStorage,
  type PurgeResult,
  type RecoveryReport,
  type StorageOptions,
  type StorageStats,
  type WarnFunction,
} from "./storage.js";
export { walLimitsDefault, WriteAheadLog, type LogTail, type WalLimits, type WalOptions } from "./wal.js";
