// The scenario library, in the order the runner goes through it.

import type { Scenario } from "../scenario.js";
import { aclScenarios } from "./acl.js";
import { badInputScenarios } from "./bad-input.js";
import { createScenarios } from "./create.js";
import { fourLetterWordScenarios } from "./four-letter-words.js";
import { miscScenarios } from "./misc.js";
import { multiScenarios } from "./multi.js";
import { sessionScenarios } from "./sessions.js";
import { statScenarios, versionScenarios } from "./versions-stat.js";
import { watchScenarios } from "./watches.js";

export const scenarios: readonly Scenario[] = [
  ...createScenarios,
  ...versionScenarios,
  ...statScenarios,
  ...multiScenarios,
  ...watchScenarios,
  ...sessionScenarios,
  ...aclScenarios,
  ...miscScenarios,
  ...fourLetterWordScenarios,
  ...badInputScenarios,
];

const names = new Set<string>();
for (const scenario of scenarios) {
  if (!/^[a-z0-9-]+$/.test(scenario.name)) throw new Error(`scenario name ${scenario.name} must match [a-z0-9-]+`);
  if (names.has(scenario.name)) throw new Error(`duplicate scenario name ${scenario.name}`);
  names.add(scenario.name);
}
