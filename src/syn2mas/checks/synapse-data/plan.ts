// The migration plan as data: per entity, how many rows the migration writes to MAS and how many
// it skips, by reason. The queries that fill it are in counts.ts.

/** Rows of one kind: how many are migrated, and how many are skipped, by reason. */
export interface EntityPlan {
  migrate: number;
  /** Skipped rows by reason; every reason of PLAN_SKIP_REASONS for the entity is present. */
  skipped: Record<string, number>;
}

export interface SynapseFacts {
  schemaVersion: number | undefined;
  /** Users to migrate whose password_hash is neither NULL nor ''. */
  localPasswordUsers: number;
  /** user_external_ids rows of users to migrate, by auth_provider, sorted by authProvider. */
  externalIds: Array<{ authProvider: string; rows: number; users: number }>;
  plan: {
    users: EntityPlan;
    /** user_threepids rows with medium 'email' (exactly, as syn2mas compares). */
    emails: EntityPlan;
    /** user_threepids rows with any other medium (they go to user_unsupported_third_party_ids). */
    unsupportedThreepids: EntityPlan;
    /** user_external_ids rows; links of unmapped providers are the caller's business. */
    upstreamLinks: EntityPlan;
    devices: EntityPlan;
    /** Non-refreshable access tokens (refresh_token_id IS NULL), with a device or deviceless. */
    accessTokens: EntityPlan;
    /**
     * Refreshable tokens, one unit per access token paired with its refresh token, plus one per
     * refresh token without a paired access token and one per refreshable access token whose
     * refresh token belongs to another user or device.
     */
    refreshTokens: EntityPlan;
    /**
     * Deviceless non-puppet non-refreshable access tokens; each migrated one becomes its own
     * compat session. These are a subset of accessTokens.
     */
    deviceless: EntityPlan;
  };
}

export type PlanKey = keyof SynapseFacts['plan'];

// Reasons of the owner of a row, in this order: a user ID of another server, an appservice user
// with ':' in the localpart, a local user ID without a users row, an appservice user. They come
// first, so that the foreign and orphan counts of the plan match the findings table by table.
const OWNER_REASONS = ['foreign', 'appservice_invalid_localpart', 'orphan', 'appservice'] as const;

/**
 * The skip reasons of each entity, in the order they are applied: a row gets the first reason
 * that applies, so the buckets never overlap and migrate + sum(skipped) = rows read. After the
 * owner reasons come syn2mas's own SQL filters (puppet, device_missing, no_access_token,
 * unpaired_access_token, superseded, hidden, guest_device), then syn2mas's per-user skips
 * (deactivated_user, guest_user), then our extra skip (hidden_device: exactly the tokens
 * syn2mas would otherwise break on).
 */
export const PLAN_SKIP_REASONS = {
  users: ['foreign', 'appservice_invalid_localpart', 'appservice'],
  emails: [...OWNER_REASONS],
  unsupportedThreepids: [...OWNER_REASONS],
  upstreamLinks: [...OWNER_REASONS],
  devices: [...OWNER_REASONS, 'hidden', 'guest_device', 'deactivated_user', 'guest_user'],
  accessTokens: [...OWNER_REASONS, 'puppet', 'device_missing', 'deactivated_user', 'guest_user', 'hidden_device'],
  refreshTokens: [
    ...OWNER_REASONS,
    'no_access_token',
    'unpaired_access_token',
    'superseded',
    'device_missing',
    'deactivated_user',
    'guest_user',
    'hidden_device',
  ],
  deviceless: [...OWNER_REASONS, 'deactivated_user', 'guest_user'],
} as const satisfies Record<PlanKey, readonly string[]>;

function emptyEntity(key: PlanKey): EntityPlan {
  const skipped: Record<string, number> = {};
  for (const reason of PLAN_SKIP_REASONS[key]) skipped[reason] = 0;
  return { migrate: 0, skipped };
}

function emptyPlan(): SynapseFacts['plan'] {
  return {
    users: emptyEntity('users'),
    emails: emptyEntity('emails'),
    unsupportedThreepids: emptyEntity('unsupportedThreepids'),
    upstreamLinks: emptyEntity('upstreamLinks'),
    devices: emptyEntity('devices'),
    accessTokens: emptyEntity('accessTokens'),
    refreshTokens: emptyEntity('refreshTokens'),
    deviceless: emptyEntity('deviceless'),
  };
}

/** Adds n rows to the entity under `reason` ('migrate' or one of its skip reasons). */
export function addToPlan(entity: EntityPlan, reason: string, n: number): void {
  if (reason === 'migrate') entity.migrate += n;
  else if (reason in entity.skipped) entity.skipped[reason] = (entity.skipped[reason] ?? 0) + n;
  else throw new Error(`internal error: unexpected plan reason '${reason}'`);
}

export function emptyFacts(schemaVersion: number | undefined): SynapseFacts {
  return { schemaVersion, localPasswordUsers: 0, externalIds: [], plan: emptyPlan() };
}
