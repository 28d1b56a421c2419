import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@offramp/kit';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  /** Undefined when the spawn failed. */
  pid: number | undefined;
  /** Settles once the process is gone, however it ended (a failed spawn included). */
  exited: Promise<ChildExit>;
  running(): boolean;
  /** Sends `signal`, then SIGKILL when the process is still there after `graceMs`. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<ChildExit>;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  log: Logger;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** What each output line becomes before it is echoed (output.ts, lineFormatter); as it is by default. */
  formatLine?: (line: string) => string;
}

/**
 * Spawns a process in a process group of its own, so that Ctrl-C in a terminal reaches only the
 * stack, which then stops its children in order (services before the servers they depend on).
 * Output lines are echoed prefixed with the child's name.
 */
export function spawnChild(opts: ChildOptions): Child {
  const { name, log } = opts;
  const proc = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    uid: opts.uid,
    gid: opts.gid,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const format = opts.formatLine ?? ((line: string) => line);
  echoLines(proc.stdout, process.stdout, name, format);
  echoLines(proc.stderr, process.stderr, name, format);
  const running = () => proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (err) => {
      log.error({ err, child: name }, `${name}: process error`);
      if (!running()) resolve({ code: null, signal: null });
    });
  });
  // A detached child outlives us unless killed; this covers exits that skip the orderly shutdown.
  const killOnExit = () => void (running() && proc.kill('SIGKILL'));
  process.on('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  async function stop(signal: NodeJS.Signals, graceMs: number): Promise<ChildExit> {
    if (running()) proc.kill(signal);
    const timedOut = await Promise.race([exited.then(() => false), delay(graceMs, true, { ref: false })]);
    if (timedOut && running()) {
      log.warn({ child: name, graceMs }, `${name}: still running after ${signal}, killing it`);
      proc.kill('SIGKILL');
    }
    return exited;
  }

  return { name, pid: proc.pid, exited, running, stop };
}

/**
 * Echoes the child's output line by line, each prefixed with its name: the complete lines of a
 * chunk in one write (a busy service's lines come several to a chunk; a write per line was most
 * of the stack's own CPU under load), a line split across chunks once it is complete, the last
 * unterminated one when the output ends. `\r\n` ends a line as `\n` does.
 */
function echoLines(from: Readable, to: Writable, name: string, format: (line: string) => string): void {
  let partial = '';
  const echo = (lines: string[]) => {
    if (lines.length > 0) to.write(lines.map((line) => `${name} | ${format(line.endsWith('\r') ? line.slice(0, -1) : line)}\n`).join(''));
  };
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    echo(lines);
  });
  from.on('end', () => {
    if (partial !== '') echo([partial]);
    partial = '';
  });
}
