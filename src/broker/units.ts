// Which lease unit each part of the tree belongs to (design section 2).
//
// A unit is named by its lease root P. It holds P's list of children and
// every znode strictly below P, down to (not including) the child lists of
// nested lease roots. P's own data and existence belong to the unit that
// holds P's parent's child list. So:
//   unitOfChildren(P) = nearest lease root at or above P, else "/";
//   unitOfNode(P)     = unitOfChildren(parent of P)   ("/" for the root).
// Creating or deleting an ordinary child touches one unit; creating or
// deleting a lease root touches its parent's unit and its own.
//
// Pure: no I/O, no clock.

import { parentOf, rootPath } from "../tree/paths.js";
import type { Delta, WriteRequest } from "../tree/types.js";
import type { RegionName, UnitName } from "./messages.js";
import type { Durability, LeaseRootRule } from "./settings.js";

/** The unit a lease-root rule yields for a path, or the root unit's defaults. */
export interface UnitRule {
  home: RegionName | null;
  durability: Durability;
  rule: LeaseRootRule | null;
}

const rootUnitRule: UnitRule = { home: null, durability: "region", rule: null };

/** The root unit: everything no lease root covers. */
export const rootUnit: UnitName = rootPath;

export class UnitMap {
  /** Exact lease roots ("/app/a"). */
  readonly #exact = new Map<string, LeaseRootRule>();
  /** Parents whose every child is a lease root ("/app" for "/app/*"). */
  readonly #childrenOf = new Map<string, LeaseRootRule>();
  /** Lease roots made by splitting a unit (adaptive splitting): they take their parent unit's rule. */
  readonly #splits = new Map<string, LeaseRootRule>();

  constructor(rules: readonly LeaseRootRule[]) {
    for (const rule of rules) {
      if (rule.pattern.endsWith("/*")) {
        const parent = rule.pattern.slice(0, -2);
        this.#childrenOf.set(parent === "" ? rootPath : parent, rule);
      } else {
        this.#exact.set(rule.pattern, rule);
      }
    }
  }

  /** The rule that makes `path` a lease root (an exact rule wins over a pattern), if any. */
  ruleOf(path: string): LeaseRootRule | undefined {
    if (path === rootPath) return undefined;
    const exact = this.#exact.get(path) ?? this.#splits.get(path);
    if (exact !== undefined) return exact;
    const parent = parentOf(path);
    return parent === undefined ? undefined : this.#childrenOf.get(parent);
  }

  /**
   * Makes `path` a lease root (a split of the unit holding its child list),
   * unless it is one already. Every lease row names a lease root, so every
   * node calls this for each row it applies, in stream order, and all agree.
   * The new unit keeps its parent unit's durability and policy, with no home.
   */
  ensureLeaseRoot(path: string): void {
    if (path === rootPath || this.ruleOf(path) !== undefined) return;
    const parentUnit = this.unitOfChildren(path);
    const inherited = this.unitRule(parentUnit);
    this.#splits.set(path, {
      pattern: path,
      home: null,
      durability: inherited.durability,
      policy: inherited.rule?.policy ?? { name: "static" },
    });
  }

  /** Whether `path` is a lease root made by a split (not by the configuration). */
  isSplit(path: string): boolean {
    return this.#splits.has(path) && !this.#exact.has(path);
  }

  /**
   * The child of `unit` a write to `path` falls under when it lies at least
   * two levels below the unit (`unit/c/x...`: splitting off `unit/c` would
   * move it), else null (the unit's direct children belong to it whatever).
   */
  splittableChildOf(unit: UnitName, path: string): string | null {
    const prefix = unit === rootPath ? "/" : `${unit}/`;
    if (!path.startsWith(prefix)) return null;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) return null;
    const child = `${prefix}${rest.slice(0, slash)}`;
    return this.unitOfChildren(child) === unit ? child : null;
  }

  isLeaseRoot(path: string): boolean {
    return path === rootPath || this.ruleOf(path) !== undefined;
  }

  /** Defaults of a unit (home region, durability) from its rule. */
  unitRule(unit: UnitName): UnitRule {
    const rule = this.ruleOf(unit);
    return rule === undefined ? rootUnitRule : { home: rule.home, durability: rule.durability, rule };
  }

  /** The unit holding `path`'s list of children: the nearest lease root at or above it. */
  unitOfChildren(path: string): UnitName {
    let current: string | undefined = path;
    while (current !== undefined && current !== rootPath) {
      if (this.ruleOf(current) !== undefined) return current;
      current = parentOf(current);
    }
    return rootUnit;
  }

  /** The unit holding `path`'s own data, ACL and existence. */
  unitOfNode(path: string): UnitName {
    if (path === rootPath) return rootUnit;
    const parent = parentOf(path);
    return parent === undefined ? rootUnit : this.unitOfChildren(parent);
  }

  /** Units a path's creation or deletion touches: its parent's unit, and its own when it is a lease root. */
  #unitsOfExistence(path: string, into: Set<UnitName>): void {
    into.add(this.unitOfNode(path));
    if (path !== rootPath && this.ruleOf(path) !== undefined) into.add(path);
  }

  /**
   * Units a request will touch, as far as the request alone tells: a
   * sequential create under a "/p/*" pattern makes a lease root whose name
   * is only known once prepared, reported as `newUnitUnder` (its parent).
   * Session requests touch no unit (a region always owns its sessions).
   */
  unitsOfRequest(request: WriteRequest): { units: Set<UnitName>; newUnitUnder: string[] } {
    const units = new Set<UnitName>();
    const newUnitUnder: string[] = [];
    const visit = (r: WriteRequest): void => {
      switch (r.op) {
        case "create": {
          const sequential = (r.flags & 2) !== 0;
          const parent = parentOf(r.path);
          if (sequential && parent !== undefined && this.#childrenOf.has(parent)) {
            units.add(this.unitOfNode(r.path));
            newUnitUnder.push(parent);
          } else {
            this.#unitsOfExistence(r.path, units);
          }
          return;
        }
        case "delete":
        case "deleteContainer":
          this.#unitsOfExistence(r.path, units);
          return;
        case "setData":
        case "setACL":
        case "check":
          units.add(this.unitOfNode(r.path));
          return;
        case "multi":
          for (const op of r.ops) visit(op);
          return;
        case "deleteEphemerals":
          for (const path of r.paths) this.#unitsOfExistence(path, units);
          return;
        case "createSession":
        case "closeSession":
          return;
      }
    };
    visit(request);
    return { units, newUnitUnder };
  }

  /** Units a prepared delta changes: the authoritative check before it is committed. */
  unitsOfDelta(delta: Delta): Set<UnitName> {
    const units = new Set<UnitName>();
    for (const op of delta.ops) {
      switch (op.type) {
        case "create":
        case "delete":
          this.#unitsOfExistence(op.path, units);
          break;
        case "setData":
        case "setACL":
          units.add(this.unitOfNode(op.path));
          break;
        case "createSession":
        case "closeSession":
          break;
      }
    }
    return units;
  }
}
