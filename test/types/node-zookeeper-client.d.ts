// The parts of node-zookeeper-client (which ships no types) that the tests use.
declare module "node-zookeeper-client" {
  import type { EventEmitter } from "node:events";

  export class Id {
    constructor(scheme: string, id: string);
    scheme: string;
    id: string;
  }
  export class ACL {
    constructor(permission: number, id: Id);
    permission: number;
    id: Id;
  }
  export interface Stat {
    czxid: Buffer;
    mzxid: Buffer;
    ctime: Buffer;
    mtime: Buffer;
    version: number;
    cversion: number;
    aversion: number;
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
    pzxid: Buffer;
  }
  export class Event {
    type: number;
    name: string;
    path: string;
    getType(): number;
    getName(): string;
    getPath(): string;
    static NODE_CREATED: number;
    static NODE_DELETED: number;
    static NODE_DATA_CHANGED: number;
    static NODE_CHILDREN_CHANGED: number;
  }
  export class State {
    name: string;
    code: number;
    static SYNC_CONNECTED: State;
    static DISCONNECTED: State;
    static EXPIRED: State;
    static AUTH_FAILED: State;
  }
  export class Exception extends Error {
    code: number;
    name: string;
    getCode(): number;
    static NO_NODE: number;
    static NODE_EXISTS: number;
    static BAD_VERSION: number;
    static NO_AUTH: number;
    static NOT_EMPTY: number;
    static INVALID_ACL: number;
    static BAD_ARGUMENTS: number;
    static NO_CHILDREN_FOR_EPHEMERALS: number;
    static CONNECTION_LOSS: number;
    static SESSION_EXPIRED: number;
    static UNIMPLEMENTED: number;
    static RUNTIME_INCONSISTENCY: number;
    static OK: number;
  }
  export const CreateMode: {
    PERSISTENT: number;
    PERSISTENT_SEQUENTIAL: number;
    EPHEMERAL: number;
    EPHEMERAL_SEQUENTIAL: number;
    CONTAINER?: number;
  };
  export const Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
  export const ACL_: never;
  export interface Transaction {
    create(path: string, data?: Buffer | null, acls?: ACL[], mode?: number): Transaction;
    setData(path: string, data: Buffer | null, version?: number): Transaction;
    check(path: string, version?: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(callback: (error: Exception | Error | null, results: Array<{ type: number; err?: number; path?: string; stat?: Stat }>) => void): void;
  }
  export type Watcher = (event: Event) => void;
  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    getSessionTimeout(): number;
    getState(): State;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: (error: Exception | Error | null, path: string) => void): void;
    create(path: string, data: Buffer | null, mode: number, callback: (error: Exception | Error | null, path: string) => void): void;
    create(path: string, callback: (error: Exception | Error | null, path: string) => void): void;
    remove(path: string, version: number, callback: (error: Exception | Error | null) => void): void;
    exists(path: string, watcher: Watcher | null, callback: (error: Exception | Error | null, stat: Stat | null) => void): void;
    getData(path: string, watcher: Watcher | null, callback: (error: Exception | Error | null, data: Buffer | null, stat: Stat) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: (error: Exception | Error | null, stat: Stat) => void): void;
    getACL(path: string, callback: (error: Exception | Error | null, acls: ACL[], stat: Stat) => void): void;
    setACL(path: string, acls: ACL[], version: number, callback: (error: Exception | Error | null, stat: Stat) => void): void;
    getChildren(path: string, watcher: Watcher | null, callback: (error: Exception | Error | null, children: string[], stat: Stat) => void): void;
    mkdirp(path: string, callback: (error: Exception | Error | null, path: string) => void): void;
    transaction(): Transaction;
  }
  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
    sessionId?: Buffer;
    sessionPassword?: Buffer;
  }
  export function createClient(connectionString: string, options?: ClientOptions): Client;
  const zookeeper: {
    createClient: typeof createClient;
    CreateMode: typeof CreateMode;
    Permission: typeof Permission;
    ACL: typeof ACL;
    Id: typeof Id;
    Event: typeof Event;
    State: typeof State;
    Exception: typeof Exception;
  };
  export default zookeeper;
}
