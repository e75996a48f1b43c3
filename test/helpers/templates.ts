// The template databases the global setup builds, and the fixture files each is made of.
export type TemplateName = 'empty' | 'synapse' | 'mas' | 'mas-pre-1.10';

export const TEMPLATE_FILES: Record<TemplateName, readonly string[]> = {
  empty: [],
  synapse: ['synapse-schema.sql'],
  mas: ['mas-schema.sql'],
  'mas-pre-1.10': ['mas-schema.sql', 'mas-schema-pre-1.10.sql'],
};

export interface TestServerInfo {
  adminUrl: string;
  runId: string;
  templates: Record<TemplateName, string>;
}
