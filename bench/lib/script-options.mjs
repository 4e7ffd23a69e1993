// What the lab bench scripts (hotspot-bench, partition-bench) share besides
// the load itself: reading their numeric and deployment options, and retrying
// a set-up step while a lab settles.

/**
 * A reader of positive numeric options from parseArgs `values`: an option
 * not given takes `fallback`, or `smokeValue` in a --smoke run.
 */
export function positiveNumbers(values, smoke) {
  return (name, fallback, smokeValue = fallback) => {
    const text = values[name];
    if (text === undefined) return smoke ? smokeValue : fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`);
    return value;
  };
}

/** The --deployments list: every known one by default, `smokeDefault` in a --smoke run; an unknown name is refused. */
export function deploymentList(value, known, smoke, smokeDefault) {
  const deployments = (value ?? (smoke ? smokeDefault : known.join(","))).split(",").filter((name) => name !== "");
  for (const name of deployments) if (!known.includes(name)) throw new Error(`unknown deployment ${name}`);
  return deployments;
}

/** Runs `run` until it succeeds, every 200 ms, for at most `timeoutMs`; then fails naming `what`. */
export async function retrying(what, run, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${error?.message ?? error}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  }
}
