// Runs a command and collects its output: the one way this project starts processes.
import { spawn } from 'node:child_process';

export interface ProcessResult {
  status: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A process that runs until it ends or is stopped, its stdout readable while it runs. */
export interface StartedProcess {
  stdoutSoFar: () => string;
  /** Sends the signal to the process (by its pid) and waits for it to end. */
  stop: (signal: NodeJS.Signals) => Promise<ProcessResult>;
  result: Promise<ProcessResult>;
}

export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): StartedProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const result = new Promise<ProcessResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
  return {
    stdoutSoFar: () => Buffer.concat(stdout).toString('utf8'),
    stop: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return result;
    },
    result,
  };
}

export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  return startProcess(command, args, env).result;
}
