// Four-letter words compared by shape (four-letter-shape.ts), with a few
// sessions, watches and ephemerals in place so the listings are not empty.

import type { Scenario, ScenarioContext } from "../scenario.js";

const words = ["ruok", "srvr", "stat", "mntr", "conf", "cons", "wchs", "wchc", "wchp", "envi", "dump", "dirs", "isro", "gtmk", "hash", "crst", "srst"];

async function populate(context: ScenarioContext): Promise<void> {
  const a = await context.connect("connect-A", "A");
  const b = await context.connect("connect-B", "B");
  await a.create("node", context.path("n"));
  await a.create("ephemeral", context.path("e"), null, 1);
  await a.getData("watch-data", context.path("n"), true);
  await a.getChildren("watch-children", context.base, true);
  await b.exists("watch-exists", context.path("n"), true);
}

export const fourLetterWordScenarios: Scenario[] = [
  ...words.map(
    (word): Scenario => ({
      name: `flw-${word}`,
      description: `Four-letter word ${word}: shape of the answer, and the connection closed after it.`,
      async run(context) {
        await populate(context);
        await context.fourLetterWord(word, word);
      },
    }),
  ),
  {
    name: "flw-unknown-word",
    description: "Four bytes that are no four-letter word: read as a frame length (or a ConnectRequest).",
    async run(context) {
      await context.exchange("abcd", { chunks: [Buffer.from("abcd", "latin1")], handshake: true, waitMs: 1_000 });
      await context.exchange("zero-length", { chunks: [Buffer.from([0, 0, 0, 0])], handshake: true, waitMs: 1_000 });
      await context.fourLetterWord("ruok-after", "ruok");
    },
  },
  {
    name: "flw-default-whitelist",
    description: "With the default whitelist (srvr only): every other word is refused with the whitelist message.",
    needs: "defaultWhitelist",
    async run(context, extras) {
      const server = extras.defaultWhitelist!;
      for (const word of ["srvr", ...words.filter((word) => word !== "srvr"), "stmk"]) {
        await context.fourLetterWord(`default-${word}`, word, server);
      }
    },
  },
];
