/**
 * Who a process is, as another process looking at the same directory can tell: its pid, and the
 * kernel and pid namespace in which that pid means something. Two containers on one volume may
 * both run their server as PID 1; a pid is only comparable within one pid namespace of one
 * running kernel (Linux gives both an id: the boot id, and the namespace's inode).
 */
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isErrorCode } from './error-code.js';

/** A process, named so that another process can tell whether it is its neighbour. */
export interface ProcessIdentity {
  readonly pid: number;
  /** For people reading a refusal; never compared. */
  readonly hostname: string;
  /** The running kernel's boot id (Linux); `null` where there is none. One boot id: one clock. */
  readonly bootId: string | null;
  /** The pid namespace, e.g. `pid:[4026531836]` (Linux); `null` where there is none. */
  readonly pidNamespace: string | null;
}

async function orNull(read: Promise<string>): Promise<string | null> {
  try {
    return (await read).trim() || null;
  } catch {
    return null;
  }
}

/** This process. */
export async function currentProcessIdentity(): Promise<ProcessIdentity> {
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId: await orNull(readFile('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: await orNull(readlink('/proc/self/ns/pid')),
  };
}

/**
 * True when both run on the same running kernel, so that a file time one of them wrote reads on
 * the other's clock. Unknown (no boot id) counts as different: nothing is concluded from it.
 */
export function sameKernel(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.bootId !== null && a.bootId === b.bootId;
}

/** True when a pid of one names the same process for the other. */
export function samePidSpace(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return sameKernel(a, b) && a.pidNamespace !== null && a.pidNamespace === b.pidNamespace;
}

/** True when a process with this pid exists in this process's pid namespace (signal 0 only checks). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return isErrorCode(error, 'EPERM');
  }
}
