// A multi-region deployment of real `maestro start` processes on loopback,
// one node per region: free client and broker ports, one configuration file
// per node (the same cluster, so that a test can give one node a wrong
// secret), a data directory per node that survives a restart. Every wait is
// bounded by the helpers of server-process.ts.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startServer, type ServerProcess } from "./server-process.js";

export interface ClusterSpec {
  /** Region names; node ids are `${region}-1`. */
  regions: string[];
  /** The region whose node carries the root broker. */
  rootRegion: string;
  /** The "leaseRoots" list of the configuration, as written in the file. */
  leaseRoots: unknown[];
  /** Timing and limits keys of "cluster" (leaseTermMs, renewIntervalMs, ...). */
  timing?: Record<string, number>;
  secret: string;
  /** A different secret for some nodes (by node id): they should never get a link. */
  secretOf?: Record<string, string>;
  /** More `maestro start` flags for every node. */
  extraArgs?: string[];
}

export interface ClusterMember {
  id: string;
  region: string;
  clientPort: number;
  brokerPort: number;
  /** Holds the node's config file, log and data (dir/data). */
  dir: string;
  configPath: string;
  process: ServerProcess;
}

interface Addresses {
  id: string;
  region: string;
  clientPort: number;
  brokerPort: number;
}

export class TestCluster {
  readonly members: ClusterMember[];
  readonly #root: string;
  readonly #spec: ClusterSpec;

  private constructor(root: string, spec: ClusterSpec, members: ClusterMember[]) {
    this.#root = root;
    this.#spec = spec;
    this.members = members;
  }

  /** Writes the configuration files and starts every node at once; resolves when all answer `ruok`. */
  static async start(spec: ClusterSpec): Promise<TestCluster> {
    const root = mkdtempSync(join(tmpdir(), "maestro-cluster-"));
    const addresses: Addresses[] = [];
    for (const region of spec.regions) {
      addresses.push({ id: `${region}-1`, region, clientPort: await freePort(), brokerPort: await freePort() });
    }
    const cluster = new TestCluster(root, spec, []);
    try {
      const members = await Promise.all(addresses.map((address) => cluster.#startMember(address, addresses)));
      cluster.members.push(...members);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  #config(self: Addresses, addresses: Addresses[]): unknown {
    const spec = this.#spec;
    return {
      cluster: {
        root: `${spec.rootRegion}-1`,
        secret: spec.secretOf?.[self.id] ?? spec.secret,
        regions: addresses.map((node) => ({
          name: node.region,
          nodes: [{ id: node.id, client: `127.0.0.1:${node.clientPort}`, broker: `127.0.0.1:${node.brokerPort}` }],
        })),
        leaseRoots: spec.leaseRoots,
        ...spec.timing,
      },
    };
  }

  async #startMember(self: Addresses, addresses: Addresses[]): Promise<ClusterMember> {
    const dir = join(this.#root, self.id);
    const configPath = join(this.#root, `${self.id}.json`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(configPath, JSON.stringify(this.#config(self, addresses), null, 2));
    const started = await this.#spawn(self.id, dir, configPath, self.clientPort);
    return { ...self, dir, configPath, process: started };
  }

  #spawn(id: string, dir: string, configPath: string, clientPort: number): Promise<ServerProcess> {
    return startServer({
      port: clientPort,
      dataDir: dir,
      fourLetterWords: "*",
      extraArgs: ["--config", configPath, "--node", id, "--unsafe-no-fsync", ...(this.#spec.extraArgs ?? [])],
    });
  }

  member(id: string): ClusterMember {
    const member = this.members.find((candidate) => candidate.id === id);
    if (member === undefined) throw new Error(`no node ${id} in the test cluster`);
    return member;
  }

  /** SIGKILL one node, then start it again on the same ports and data directory. */
  async crashAndRestart(id: string): Promise<void> {
    const member = this.member(id);
    await member.process.kill();
    member.process = await this.#spawn(member.id, member.dir, member.configPath, member.clientPort);
  }

  /** SIGKILL one node, empty its data directory (a lost disk), then start it again on the same ports. */
  async crashWipeAndRestart(id: string): Promise<void> {
    const member = this.member(id);
    await member.process.kill();
    rmSync(member.dir, { recursive: true, force: true });
    mkdirSync(member.dir, { recursive: true });
    member.process = await this.#spawn(member.id, member.dir, member.configPath, member.clientPort);
  }

  /** The last few KB of every node's log, for failure messages. */
  logs(): string {
    return this.members.map((member) => `--- ${member.id} ---\n${member.process.logTail()}`).join("\n");
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.process.stop()));
    if (process.env.MAESTRO_KEEP_TEST_DATA === undefined) rmSync(this.#root, { recursive: true, force: true });
  }
}
