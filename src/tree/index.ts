// The data tree's public surface.

export * from "./types.js";
export { TreeInvariantError } from "./assert.js";
export { checkAcl, fixupAcl, maskDigestIds, ipMatches, isValidDigestId, isValidIpAclId, openAcl, readOnlyAcl, superId, worldAnyone } from "./acl.js";
export { DataTree } from "./data-tree.js";
export { clientStat, ownerKind, ttlOfOwner, ttlOwner, type NodeRecord, type OwnerKind } from "./node.js";
export { TreeOverlay } from "./overlay.js";
export { basename, childPath, isSpecialPath, isValidPath, parentOf, sequenceSuffix, specialPaths, validatePath } from "./paths.js";
export { PendingTree } from "./pending.js";
export { defaultTreeOptions, prepare } from "./prepare.js";
export { exists, getACL, getAllChildrenNumber, getChildren, getChildren2, getData, getEphemerals, type ReadError, type ReadResult } from "./reads.js";
export { defaultSweepOptions, expiredContainersAndTtls, sweepPathsMaxDefault, type SweepOptions } from "./sweep.js";
export type { RecordStore, TreeView } from "./view.js";
