// The text report of `maestro check-data`.

import type { DataDirReport } from "../storage/index.js";

function hex(value: bigint | null): string {
  return value === null ? "-" : `0x${value.toString(16)}`;
}

export function formatCheckReport(report: DataDirReport): string {
  const lines = [`data directory ${report.dataDir}`];
  if (report.lockOwnerPid !== null) {
    lines.push(`lock held by pid ${report.lockOwnerPid} (${report.lockOwnerAlive ? "running" : "not running: stale"})`);
  }
  for (const snapshot of report.snapshots) {
    const detail = snapshot.valid ? `${snapshot.nodeCount} znodes, ${snapshot.sessionCount} sessions, ${snapshot.bytes} bytes` : "INVALID";
    lines.push(`snapshot ${snapshot.file} zxid ${hex(snapshot.zxid)}: ${detail}`);
  }
  for (const segment of report.segments) {
    const range = `${hex(segment.firstZxid)}..${hex(segment.lastZxid)}`;
    const torn = segment.tornTailBytes > 0 ? `, torn tail of ${segment.tornTailBytes} bytes` : "";
    lines.push(`log ${segment.file}: ${segment.valid ? "ok" : "INVALID"}, ${segment.records} records ${range}${torn}`);
  }
  for (const file of report.temporaryFiles) lines.push(`temporary file ${file} (removed at start-up)`);
  for (const warning of report.warnings) lines.push(`warning: ${warning.file}${offsetText(warning.offset)}: ${warning.message}`);
  for (const problem of report.problems) lines.push(`PROBLEM: ${problem.file}${offsetText(problem.offset)}: ${problem.code}: ${problem.message}`);
  if (report.recovery !== null) {
    const recovery = report.recovery;
    lines.push(
      `start-up would load ${recovery.snapshotFile ?? "no snapshot"} and replay ${recovery.recordsToReplay} records to zxid ${hex(recovery.lastZxid)}: ${recovery.nodeCount} znodes, ${recovery.sessionCount} sessions`,
    );
  }
  lines.push(report.ok ? "result: ok" : report.startable ? "result: startable with warnings" : "result: DAMAGED, start-up would refuse");
  return lines.join("\n") + "\n";
}

function offsetText(offset: number | null): string {
  return offset === null ? "" : ` at byte ${offset}`;
}
