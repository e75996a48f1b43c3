// zxcvbn, the password strength estimator MAS uses (@zxcvbn-ts is a port of the same one), shared by
// manage's password complexity and the weak-secret findings.
//
// The dictionaries are several megabytes and building the matcher takes a noticeable fraction of a
// second, so both happen on the first use only: every other command starts without that cost.
// That is why the packages are loaded with require() (they ship CommonJS builds; a static import
// would load them whenever this module is imported, and import() would make every check async).
import { createRequire } from 'node:module';

type Core = typeof import('@zxcvbn-ts/core');
type Common = typeof import('@zxcvbn-ts/language-common');
type English = typeof import('@zxcvbn-ts/language-en');
export type Zxcvbn = InstanceType<Core['ZxcvbnFactory']>;

let checker: Zxcvbn | undefined;

export function zxcvbn(): Zxcvbn {
  if (checker === undefined) {
    const require = createRequire(import.meta.url);
    const { ZxcvbnFactory } = require('@zxcvbn-ts/core') as Core;
    const common = require('@zxcvbn-ts/language-common') as Common;
    const en = require('@zxcvbn-ts/language-en') as English;
    // The original zxcvbn (which MAS's Rust crate follows) ships common passwords plus English words,
    // names and Wikipedia terms; the English package also gives readable feedback text.
    checker = new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
  }
  return checker;
}
