// Every doctor check, in the order they are reported.
import type { DoctorCheck } from '../check.js';
import { adminApiChecks } from './admin-api.js';
import { basicChecks } from './basics.js';
import { configChecks } from './config.js';
import { discoveryChecks } from './discovery.js';
import { masInternalChecks } from './mas-internals.js';
import { tlsChecksWith } from './tls.js';

export function doctorChecks(options: { caFile?: string } = {}): DoctorCheck[] {
  return [...basicChecks, ...discoveryChecks, ...configChecks, ...adminApiChecks, ...masInternalChecks, ...tlsChecksWith(options.caFile)];
}
