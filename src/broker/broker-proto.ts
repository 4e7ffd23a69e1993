// The protobuf schema of the broker links, declared once here and loaded
// with protobufjs reflection at startup (no generated code, no file read).
// wire.ts maps between these messages and the types of messages.ts.
//
// proto2 on purpose: `required` makes the decoder reject a message with a
// field missing, and `optional` keeps presence, which is how a null znode
// data (absent) differs from an empty one (present, zero bytes).
// Field names are snake_case here; protobufjs exposes them in camelCase.
//
// Integer widths: bigints (zxids, session ids, positions) are int64 and
// round-trip exactly, negatives included; jute ints (versions, flags,
// perms, error codes) are int32 (sint32 for error codes, usually negative);
// the broker's JavaScript counters (epochs, rounds, request ids, terms)
// are int64 and must decode to safe integers. Deltas travel as bytes in
// the log's own format (src/storage/delta-codec.ts): one codec for deltas.

export const brokerProtoPackage = "maestro.broker";

export const brokerProtoSchema = `
syntax = "proto2";
package maestro.broker;

message Envelope {
  required string from = 1;
  required string region = 2;
  required int64 epoch = 3;
  oneof body {
    Subscribe subscribe = 10;
    Subscribed subscribed = 11;
    Ship ship = 12;
    Deltas stream = 13;
    StreamGap stream_gap = 14;
    Renew renew = 15;
    Renewed renewed = 16;
    Revoke revoke = 17;
    Released released = 18;
    Forward forward = 19;
    ForwardReply forward_reply = 20;
    Sync sync = 21;
    SyncReply sync_reply = 22;
    Fenced fenced = 23;
    Relay relay = 24;
  }
}

message Subscribe { required int64 stream_pos = 1; }
message Subscribed { required int64 ship_seq = 1; required int64 stream_pos = 2; }
message Deltas { repeated bytes deltas = 1; }
// A ship batch also names other regions' deltas the root must have sequenced before it.
message Ship { repeated bytes deltas = 1; repeated OriginSeq deps = 2; }
message StreamGap { required int64 oldest_stream_pos = 1; }

message UnitEpoch { required string unit = 1; required int64 epoch = 2; }
message WriteCount { required string unit = 1; required string origin = 2; required int64 count = 3; optional string child = 4; }
message OriginSeq { required string origin = 1; required int64 ship_seq = 2; }

message Renew { required int64 round = 1; repeated UnitEpoch leases = 2; repeated WriteCount counts = 3; }
message Renewed { required int64 round = 1; required int64 term_ms = 2; repeated UnitEpoch stale = 3; required int64 stream_pos = 4; }
message Revoke { required string unit = 1; required int64 epoch = 2; }
message Released { required string unit = 1; required int64 epoch = 2; required int64 ship_seq = 3; }

message Forward {
  required int64 request_id = 1;
  required int64 session_id = 2;
  required WriteRequest request = 3;
  repeated Id auth_ids = 4;
  repeated UnitEpoch leases = 5;
  repeated OriginSeq deps = 6;
  // The forwarder's own latest deltas the owner may lack, with what they depend on.
  repeated bytes carried = 7;
  repeated OriginSeq carried_deps = 8;
}
message ForwardReply { required int64 request_id = 1; required ForwardOutcome outcome = 2; }
message Sync { required int64 request_id = 1; required string unit = 2; }
message SyncReply {
  required int64 request_id = 1;
  required string origin = 2;
  required int64 ship_seq = 3;
  required bool ok = 4;
}

message Fenced { required int64 ship_seq = 1; repeated string units = 2; }
message Relay { required string origin = 1; repeated bytes deltas = 2; repeated OriginSeq deps = 3; }

message Id { required string scheme = 1; required string id = 2; }
message Acl { required int32 perms = 1; required Id id = 2; }

enum CreateKind {
  CREATE = 1;
  CREATE2 = 2;
  CREATE_CONTAINER = 3;
  CREATE_TTL = 4;
}

message WriteRequest {
  oneof op {
    CreateRequest create = 1;
    PathVersion delete = 2;
    SetDataRequest set_data = 3;
    SetAclRequest set_acl = 4;
    PathVersion check = 5;
    MultiRequest multi = 6;
    Path delete_container = 7;
    CreateSessionRequest create_session = 8;
    SessionOnly close_session = 9;
    DeleteEphemeralsRequest delete_ephemerals = 10;
  }
}
message CreateRequest {
  required CreateKind kind = 1;
  required string path = 2;
  optional bytes data = 3;
  repeated Acl acl = 4;
  required int32 flags = 5;
  required int64 ttl = 6;
}
message PathVersion { required string path = 1; required int32 version = 2; }
message Path { required string path = 1; }
message SetDataRequest { required string path = 1; optional bytes data = 2; required int32 version = 3; }
message SetAclRequest { required string path = 1; repeated Acl acl = 2; required int32 version = 3; }
message MultiRequest { repeated WriteRequest ops = 1; }
message CreateSessionRequest { required int64 session_id = 1; required int32 timeout_ms = 2; }
message SessionOnly { required int64 session_id = 1; }
message DeleteEphemeralsRequest { required int64 session_id = 1; repeated string paths = 2; }

message Stat {
  required int64 czxid = 1;
  required int64 mzxid = 2;
  required int64 ctime = 3;
  required int64 mtime = 4;
  required int32 version = 5;
  required int32 cversion = 6;
  required int32 aversion = 7;
  required int64 ephemeral_owner = 8;
  required int32 data_length = 9;
  required int32 num_children = 10;
  required int64 pzxid = 11;
}

message Empty {}

message OpResult {
  oneof op {
    CreateResult create = 1;
    Empty delete = 2;
    StatResult set_data = 3;
    StatResult set_acl = 4;
    Empty check = 5;
    MultiResults multi = 6;
    Empty delete_container = 7;
    Empty create_session = 8;
    Empty close_session = 9;
    Empty delete_ephemerals = 10;
  }
}
message CreateResult { required CreateKind kind = 1; required string path = 2; required Stat stat = 3; }
message StatResult { required Stat stat = 1; }
message MultiOpResult {
  oneof entry {
    OpResult result = 1;
    sint32 err = 2;
  }
}
message MultiResults { repeated MultiOpResult results = 1; }

message ForwardOutcome {
  oneof kind {
    Committed committed = 1;
    Failed failed = 2;
    NotOwner not_owner = 3;
    Unavailable unavailable = 4;
  }
}
message Committed {
  required OpResult result = 1; required string origin = 2; required int64 ship_seq = 3;
  // The committed delta (none or one) and what its owner had applied when it prepared it.
  repeated bytes deltas = 4; repeated OriginSeq deps = 5;
}
// multi_results is a message, not a repeated field, so that "absent" and
// "present but empty" stay different.
message Failed {
  required sint32 err = 1;
  optional MultiResults multi_results = 2;
  required string origin = 3;
  required int64 ship_seq = 4;
}
message NotOwner { repeated UnitEpoch leases = 1; repeated string owners = 2; }
message Unavailable { required string reason = 1; }
`;
