// A provider's user_mapping_provider as MAS claims_imports, with warnings for the templates MAS
// reads differently.
import type { SynapseOidcProvider } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { Warn } from './context.js';

/**
 * Filters Synapse registers in the Jinja environment of its OIDC mapping provider that MAS's
 * MiniJinja environment does not have, each with the MAS spelling to use instead.
 */
const SYNAPSE_ONLY_FILTERS: Record<string, string> = {
  localpart_from_email: "replace `EXPR | localpart_from_email` with `(EXPR | split('@'))[0]`",
};

export function claimsImports(p: SynapseOidcProvider, warn: Warn, base: Record<string, unknown>): Record<string, unknown> | undefined {
  const m = p.userMappingProvider;
  const cfg = `${p.keyPath}.user_mapping_provider.config`;
  if (!m.isJinja) {
    warn(
      C.mappingModule,
      `${p.keyPath}.user_mapping_provider.module: "${m.module ?? ''}" is custom Python code MAS cannot run; MAS's default claim mapping is used.`,
      'Express the mapping as claims_imports templates (subject, localpart, displayname, email) on the provider.',
      { ...base, key: `${p.keyPath}.user_mapping_provider.module`, module: m.module },
    );
    return undefined;
  }

  const templates: [string, string | undefined][] = [
    ['subject_template', m.subjectTemplate],
    ['localpart_template', m.localpartTemplate],
    ['display_name_template', m.displayNameTemplate],
    ['email_template', m.emailTemplate],
    ['picture_template', m.pictureTemplate],
  ];
  for (const [key, template] of templates) {
    if (template === undefined) continue;
    for (const filter of synapseOnlyFilters(template)) {
      // Decision: copy the template verbatim and warn. Rewriting expressions automatically could
      // change what they mean; the fix names the MAS spelling.
      warn(
        C.jinjaFilter,
        `${cfg}.${key}: uses the Jinja filter \`${filter}\`, which exists in Synapse but not in MAS; the template is copied unchanged and will fail in MAS.`,
        `In the MAS config, ${SYNAPSE_ONLY_FILTERS[filter] ?? 'rewrite the template without it'}.`,
        { ...base, key: `${cfg}.${key}`, filter },
      );
    }
  }

  const claims: Record<string, unknown> = {};
  if (m.subjectTemplate !== undefined) {
    claims.subject = { template: m.subjectTemplate };
    if (m.subjectClaim !== undefined) {
      warn(
        C.subjectTemplateAndClaim,
        `${cfg}: both subject_template and subject_claim are set; subject_template is used, as Synapse does.`,
        'Remove one of them so that the subject is unambiguous.',
        { ...base, key: `${cfg}.subject_claim` },
      );
    }
  } else if (m.subjectClaim !== undefined) {
    claims.subject = { template: claimTemplate(m.subjectClaim) };
  }
  // Without confirm_localpart Synapse creates the account straight from the claims: the localpart
  // must come from the provider (require) and the rest is taken as is (force). With it, the user
  // sees and may edit every value first (suggest).
  const confirm = m.confirmLocalpart;
  if (m.localpartTemplate !== undefined) claims.localpart = { action: confirm ? 'suggest' : 'require', template: m.localpartTemplate };
  if (m.displayNameTemplate !== undefined) claims.displayname = { action: confirm ? 'suggest' : 'force', template: m.displayNameTemplate };
  if (m.emailTemplate !== undefined) claims.email = { action: confirm ? 'suggest' : 'force', template: m.emailTemplate };
  if (m.pictureTemplate !== undefined) {
    warn(
      C.pictureTemplate,
      `${cfg}.picture_template: MAS does not import avatars from the provider; not carried over.`,
      'Users set their avatar in their Matrix client.',
      { ...base, key: `${cfg}.picture_template` },
    );
  }
  return Object.keys(claims).length > 0 ? claims : undefined;
}

/** `{{ user.name }}`, or `{{ user["a-b"] }}` when the claim name is not an identifier. */
function claimTemplate(claim: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(claim) ? `{{ user.${claim} }}` : `{{ user[${JSON.stringify(claim)}] }}`;
}

function synapseOnlyFilters(template: string): string[] {
  const found = new Set<string>();
  for (const name of Object.keys(SYNAPSE_ONLY_FILTERS)) {
    // `x | name`, `x|name(...)`, or a `{% filter name %}` block.
    if (new RegExp(`(?:\\|\\s*|\\{%-?\\s*filter\\s+)${name}\\b`).test(template)) found.add(name);
  }
  return [...found];
}
