// The checks mas-cli's doctor does not make, about how clients find MAS, in the order they are
// reported: the client base URL clients use, the client well-known document as clients read it,
// MAS's own OpenID discovery document, the discovery endpoints Synapse serves in front of it, and
// every legacy route MAS serves in place of Synapse. One module each.
import type { DoctorCheck } from '../check.js';
import { clientBaseChecks } from './client-base.js';
import { compatRoutesChecks } from './compat-routes.js';
import { openidConfigurationChecks } from './openid-configuration.js';
import { synapseAuthMetadataChecks } from './synapse-auth-metadata.js';
import { wellKnownFormatChecks } from './wellknown-format.js';

export const discoveryChecks: DoctorCheck[] = [
  ...wellKnownFormatChecks,
  ...clientBaseChecks,
  ...openidConfigurationChecks,
  ...synapseAuthMetadataChecks,
  ...compatRoutesChecks,
];
