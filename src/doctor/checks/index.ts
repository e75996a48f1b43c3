// Every doctor check, in the order they are reported.
import type { DoctorCheck } from '../check.js';
import { basicChecks } from './basics.js';

export const allChecks: readonly DoctorCheck[] = [...basicChecks];
