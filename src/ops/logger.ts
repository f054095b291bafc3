import winston from 'winston';
import { redactUrlsIn } from './redact';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Fields every line about a room carries, so ops can grep one device. */
export interface RoomContext {
  device: string;
  room: string;
}

export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** JSON lines on stdout: one object per line with time, level, msg and context fields. */
export function createLogger(level: LogLevel, stream: NodeJS.WritableStream = process.stdout): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/**
 * Turns an unknown thrown value into loggable fields without losing the message; URLs in it lose
 * their credentials and query (an error may quote a configured or signed URL).
 */
export function errorFields(err: unknown): { error: string } {
  return { error: redactUrlsIn(err instanceof Error ? err.message : String(err)) };
}
