// Upstream SSO links: every `auth_provider` in Synapse's user_external_ids must map to a MAS
// upstream provider (by its `synapse_idp_id`, or an explicit --upstream-provider-mapping) that exists
// in the MAS database and is enabled. When the mapping is missing, propose one by matching issuer and
// client id, and print the YAML line to add.
import type { MasUpstreamProvider } from '../../config/mas.js';
import type { SynapseOidcProvider } from '../../config/synapse.js';
import { finding, type Finding } from '../../report/finding.js';

export const PROVIDER_CHECK_CODES = [
  'E_OAUTH_DELEGATED_ROWS',
  'E_SYNAPSE_PROVIDER_UNKNOWN',
  'E_MAS_PROVIDER_MISSING',
  'E_MAS_PROVIDER_NOT_SYNCED',
  'E_MAS_PROVIDER_DISABLED',
] as const;

export interface ProviderCheckInput {
  /** user_external_ids of migratable users, grouped by auth_provider. */
  externalIds: ReadonlyArray<{ authProvider: string; rows: number; users: number }>;
  synapseProviders: readonly SynapseOidcProvider[];
  masProviders: readonly MasUpstreamProvider[];
  /** From --upstream-provider-mapping: Synapse IdP id to MAS provider ULID. */
  explicitMapping: ReadonlyMap<string, string>;
  ignoreMissingAuthProviders: boolean;
  /** upstream_oauth_providers rows of the MAS database (ULIDs); undefined when the schema is missing. */
  masDatabaseProviders: ReadonlyArray<{ id: string; disabled: boolean }> | undefined;
}

export interface ProviderCheckResult {
  findings: Finding[];
  /** Synapse IdP id to MAS provider ULID, for every provider whose links can be migrated. */
  mapping: Map<string, string>;
  /** Synapse IdP ids whose links will be skipped (only with --ignore-missing-auth-providers). */
  skipped: Map<string, number>;
}

const DELEGATED = 'oauth-delegated';

const usersText = (n: number): string => `${n} user${n === 1 ? '' : 's'}`;

export function checkProviders(input: ProviderCheckInput): ProviderCheckResult {
  const findings: Finding[] = [];
  const mapping = new Map<string, string>();
  const skipped = new Map<string, number>();
  const synapseById = new Map(input.synapseProviders.map((p) => [p.idpId, p]));
  const dbById = input.masDatabaseProviders && new Map(input.masDatabaseProviders.map((p) => [p.id, p]));

  for (const { authProvider, rows, users } of input.externalIds) {
    if (authProvider === DELEGATED) {
      findings.push(
        finding('E_OAUTH_DELEGATED_ROWS', 'error', `${usersText(users)} ${users === 1 ? 'has' : 'have'} '${DELEGATED}' links left by an earlier MAS integration of this Synapse.`, {
          fix:
            'These rows are MAS user ids that Synapse recorded while delegating to a previous MAS; they cannot be migrated. ' +
            'After a backup, delete them on the Synapse database yourself (mas-tool never writes to Synapse), then check again.',
          details: { users, rows, sql: `DELETE FROM user_external_ids WHERE auth_provider = '${DELEGATED}';` },
        }),
      );
      continue;
    }
    const explicit = input.explicitMapping.get(authProvider);
    const synapseProvider = synapseById.get(authProvider);
    if (synapseProvider === undefined && explicit === undefined) {
      const severity = input.ignoreMissingAuthProviders ? 'warning' : 'error';
      findings.push(
        finding(
          'E_SYNAPSE_PROVIDER_UNKNOWN',
          severity,
          `${usersText(users)} ${users === 1 ? 'is' : 'are'} linked to '${authProvider}', which is not an OIDC provider in homeserver.yaml.`,
          {
            fix: input.ignoreMissingAuthProviders
              ? `Their '${authProvider}' links will not be migrated (--ignore-missing-auth-providers); they log in another way or are linked later.`
              : /^(saml|cas)$/.test(authProvider)
                ? `MAS supports only OIDC upstreams. Put an OIDC bridge (such as Dex) in front of your ${authProvider.toUpperCase()} IdP, add it as a MAS provider and map it with --upstream-provider-mapping ${authProvider}:<provider ULID>, or pass --ignore-missing-auth-providers to skip these links.`
                : `Add the provider back to homeserver.yaml (as it was when users logged in with it), map it with --upstream-provider-mapping ${authProvider}:<MAS provider ULID>, or pass --ignore-missing-auth-providers to skip these links.`,
            details: { authProvider, users, rows },
          },
        ),
      );
      if (input.ignoreMissingAuthProviders) skipped.set(authProvider, rows);
      continue;
    }

    const masProvider =
      explicit !== undefined
        ? input.masProviders.find((p) => p.id === explicit)
        : input.masProviders.find((p) => p.synapseIdpId === authProvider);
    const targetId = explicit ?? masProvider?.id;
    if (targetId === undefined) {
      findings.push(missingMapping(authProvider, users, rows, synapseProvider, input.masProviders));
      continue;
    }
    const inDb = dbById?.get(targetId);
    if (dbById !== undefined && inDb === undefined) {
      findings.push(
        finding('E_MAS_PROVIDER_NOT_SYNCED', 'error', `MAS provider ${targetId} (for '${authProvider}', ${usersText(users)}) is not in the MAS database yet.`, {
          fix: 'Run `mas-cli config sync` with the same MAS config so that the provider row exists, then check again.',
          details: { authProvider, providerId: targetId, users },
        }),
      );
      continue;
    }
    if (masProvider?.enabled === false || inDb?.disabled === true) {
      findings.push(
        finding('E_MAS_PROVIDER_DISABLED', 'error', `MAS provider ${targetId} (for '${authProvider}', ${usersText(users)}) is disabled.`, {
          fix: `Enable it (remove \`enabled: false\` at ${masProvider?.keyPath ?? 'its entry in upstream_oauth2.providers'}) and run \`mas-cli config sync\`, or ${usersText(users)} could not log in with it.`,
          details: { authProvider, providerId: targetId, users, disabledIn: masProvider?.enabled === false ? 'config' : 'database' },
        }),
      );
      continue;
    }
    mapping.set(authProvider, targetId);
  }
  return { findings, mapping, skipped };
}

function normaliseIssuer(issuer: string | undefined): string | undefined {
  return issuer?.replace(/\/+$/, '');
}

function missingMapping(
  authProvider: string,
  users: number,
  rows: number,
  synapseProvider: SynapseOidcProvider | undefined,
  masProviders: readonly MasUpstreamProvider[],
): Finding {
  const issuer = normaliseIssuer(synapseProvider?.issuer);
  const candidates = masProviders.filter(
    (p) => p.synapseIdpId === undefined && normaliseIssuer(p.issuer) === issuer && issuer !== undefined,
  );
  const exact = candidates.filter((p) => p.clientId === synapseProvider?.clientId);
  const proposal = (exact.length === 1 ? exact : candidates.length === 1 ? candidates : [])[0];
  const details: Record<string, unknown> = { authProvider, users, rows, issuer: synapseProvider?.issuer ?? null };
  let fix: string;
  if (proposal !== undefined) {
    details.proposedProviderId = proposal.id;
    details.yaml = `# in ${proposal.keyPath} (id: ${proposal.id}):\nsynapse_idp_id: ${authProvider}`;
    fix =
      `MAS provider ${proposal.id} (${proposal.keyPath}) has the same issuer${exact.length === 1 ? ' and client id' : ''}; ` +
      `add \`synapse_idp_id: ${authProvider}\` to it and run \`mas-cli config sync\`, or pass --upstream-provider-mapping ${authProvider}:${proposal.id}.`;
  } else {
    fix =
      `Add an upstream provider for ${synapseProvider?.issuer ?? authProvider} to the MAS config with \`synapse_idp_id: ${authProvider}\` ` +
      '(`mas-tool config generate` writes one from homeserver.yaml), run `mas-cli config sync`, and check again.';
  }
  return finding(
    'E_MAS_PROVIDER_MISSING',
    'error',
    `No MAS upstream provider has synapse_idp_id '${authProvider}': ${usersText(users)} linked to it could not log in with SSO.`,
    { fix, details },
  );
}

/**
 * The mapping a migration used, from configuration alone: explicit --upstream-provider-mapping
 * entries, then every MAS provider's `synapse_idp_id`. For commands that run after the migration.
 */
export function configProviderMapping(masProviders: readonly MasUpstreamProvider[], explicit: ReadonlyMap<string, string>): Map<string, string> {
  const mapping = new Map<string, string>();
  for (const p of masProviders) if (p.synapseIdpId !== undefined) mapping.set(p.synapseIdpId, p.id);
  for (const [idp, id] of explicit) mapping.set(idp, id);
  return mapping;
}
