// The captcha section: Synapse's registration reCAPTCHA, when it is on.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink } from './context.js';

export function captchaSection(synapse: ParsedSynapseConfig, { warn }: FindingSink): Record<string, unknown> | undefined {
  let captcha: Record<string, unknown> | undefined;
  if (synapse.enableRegistrationCaptcha) {
    captcha = { service: 'recaptcha_v2' };
    if (synapse.recaptchaPublicKey !== undefined) captcha.site_key = synapse.recaptchaPublicKey;
    if (synapse.recaptchaPrivateKey !== undefined) captcha.secret_key = synapse.recaptchaPrivateKey.reveal();
    const missing = [
      ...(synapse.recaptchaPublicKey === undefined ? ['recaptcha_public_key'] : []),
      ...(synapse.recaptchaPrivateKey === undefined ? ['recaptcha_private_key'] : []),
    ];
    if (missing.length > 0) {
      warn(
        C.captchaKeys,
        `enable_registration_captcha is true but ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set, so the captcha section is incomplete.`,
        'Set captcha.site_key and captcha.secret_key to your reCAPTCHA v2 keys, or remove the captcha section.',
        { key: 'enable_registration_captcha', missing },
      );
    }
  }
  return captcha;
}
