// `nsbox check`: loaded only when asked for (the check code is the lazy part
// of the bundle). The live pod check gets the library's createPod from here:
// the checks sit below the library they check.
import type { CheckReport, RunChecksOptions } from '../check/check.js';

export type { CheckReport, CheckResult } from '../check/check.js';

export async function runChecks(opts: Omit<RunChecksOptions, 'createPod'> = {}): Promise<CheckReport> {
  const [{ runChecks: run }, { createPod }] = await Promise.all([import('../check/check.js'), import('./create-pod.js')]);
  return run({ ...opts, createPod });
}

export async function formatCheckReport(report: CheckReport): Promise<string> {
  return (await import('../check/check.js')).formatCheckReport(report);
}
