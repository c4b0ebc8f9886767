// `nsbox check`: loaded only when asked for (the check code is the lazy part of the bundle).
import type { CheckReport } from '../check/check.js';

export async function runChecks(): Promise<CheckReport> {
  return (await import('../check/check.js')).runChecks();
}

export async function formatCheckReport(report: CheckReport): Promise<string> {
  return (await import('../check/check.js')).formatCheckReport(report);
}
