import { execFile } from 'node:child_process';

const cli = new URL('./audit-verify-cli.ts', import.meta.url).pathname;

/**
 * `npm run audit:verify -- <args>` as its own process (tests of the chains run it as an operator
 * would), with `env` on top of this process's: its exit code and output.
 */
export function runAuditVerify(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    );
  });
}
