// pino logs: readable lines on a terminal, JSON otherwise (or when asked).

import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const readable = options.pretty ?? (process.stdout.isTTY === true && process.env["MAESTRO_LOG_JSON"] !== "1");
  if (!readable) return pino({ level, base: { pid: process.pid } });
  // A synchronous pretty stream: no worker thread, lines appear in order.
  const stream = pretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", sync: true });
  return pino({ level }, stream);
}
