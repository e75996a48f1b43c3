import { describe, expect, it } from 'vitest';
import { randomDeviceId, validateDeviceId, validateEmail, validateUsername } from '../../src/manage/rules.js';

describe('validateUsername', () => {
  it('accepts what MAS accepts', () => {
    for (const name of ['alice', 'a', 'bob.smith', 'x=y', 'a-b', 'a/b', 'a+b', 'user_1', '0123', 'a'.repeat(200)]) {
      expect(validateUsername(name, 'example.com'), name).toBeUndefined();
    }
  });

  it('says an empty username is empty', () => {
    expect(validateUsername('', 'example.com')).toBe('The username is empty.');
  });

  it('names an upper-case letter and its position, and suggests the lower-case name', () => {
    expect(validateUsername('aLice', 'example.com')).toBe(
      'The username "aLice" has the upper-case letter \'L\' at position 2; MAS usernames are lower case (use "alice").',
    );
  });

  it('names the first character MAS does not allow, and where it is', () => {
    expect(validateUsername('alice smith', 'example.com')).toBe(
      'The username "alice smith" has a space (U+0020) at position 6; MAS allows only a-z, 0-9 and = _ - . / + in a username.',
    );
    expect(validateUsername('bob:x', 'example.com')).toContain("has ':' at position 4");
    expect(validateUsername('zoë', 'example.com')).toContain("has 'ë' (U+00EB) at position 3");
    expect(validateUsername('😀a!', 'example.com')).toContain('at position 1');
    expect(validateUsername('a\tb', 'example.com')).toContain('the control character U+0009 at position 2');
    // Upper case next to another bad character is not fixed by lower-casing: say what is allowed.
    expect(validateUsername('Al!ce', 'example.com')).toContain("has 'A' at position 1; MAS allows only");
  });

  it('refuses a leading underscore', () => {
    expect(validateUsername('_bridge_bot', 'example.com')).toMatch(/^The username "_bridge_bot" starts with '_'; MAS does not allow that/);
  });

  it('refuses more than 255 characters', () => {
    expect(validateUsername('a'.repeat(256), 'x')).toBe('The username is 256 characters long; MAS allows at most 255.');
  });

  it('refuses a username whose full Matrix ID would pass 255 bytes', () => {
    const server = 'matrix.example.com'; // '@' + ':' + 18 bytes: 235 characters is the most that fits
    expect(validateUsername('a'.repeat(235), server)).toBeUndefined();
    expect(validateUsername('a'.repeat(236), server)).toBe(
      `The user ID @${'a'.repeat(236)}:${server} would be 256 bytes long; Matrix allows at most 255, so the username can be at most 235 characters on ${server}.`,
    );
  });
});

describe('validateEmail', () => {
  it('accepts ordinary addresses and localhost', () => {
    for (const a of ['alice@example.com', 'a.b+tag@mail.example.co.uk', 'root@localhost', "o'brien@example.org"]) {
      expect(validateEmail(a), a).toBeUndefined();
    }
  });

  it('says what is wrong with a malformed address', () => {
    expect(validateEmail('')).toBe('The email address is empty.');
    expect(validateEmail('alice.example.com')).toBe('The email address "alice.example.com" has no \'@\'.');
    expect(validateEmail('a@b@example.com')).toBe('The email address "a@b@example.com" has more than one \'@\'.');
    expect(validateEmail('@example.com')).toBe('The email address "@example.com" has nothing before the \'@\'.');
    expect(validateEmail('alice@')).toBe('The email address "alice@" has nothing after the \'@\'.');
    expect(validateEmail('alice@example')).toBe('The domain "example" of "alice@example" has no \'.\'; a mail domain looks like example.com.');
    expect(validateEmail('alice@example..com')).toMatch(/has an empty part/);
    expect(validateEmail('alice@example.com.')).toMatch(/has an empty part/);
    expect(validateEmail('alice @example.com')).toBe('The email address "alice @example.com" has a space (U+0020) at position 6.');
  });

  it('refuses addresses longer than 254 characters', () => {
    const long = `${'a'.repeat(64)}@${'b'.repeat(185)}.com`; // 254
    expect(validateEmail(long)).toBeUndefined();
    expect(validateEmail(`a${long}`)).toBe('The email address is 255 characters long; at most 254 can be delivered to.');
  });
});

describe('validateDeviceId', () => {
  it('accepts printable ASCII ids', () => {
    for (const id of ['ABCDEFGHIJ', 'x', 'my-laptop_2', 'a.b:c/d~e!', 'X'.repeat(255)]) expect(validateDeviceId(id), id).toBeUndefined();
  });

  it('says what is wrong and where', () => {
    expect(validateDeviceId('')).toBe('The device ID is empty.');
    expect(validateDeviceId('my laptop')).toBe('The device ID "my laptop" has a space (U+0020) at position 3; a device ID is printable ASCII without spaces.');
    expect(validateDeviceId('café')).toContain("'é' (U+00E9) at position 4");
    expect(validateDeviceId('a"b')).toContain("MAS cannot put a device ID with '\"' or '\\' into an OAuth 2.0 scope");
    expect(validateDeviceId('a\\b')).toContain('at position 2');
    expect(validateDeviceId('X'.repeat(256))).toBe('The device ID is 256 characters long; at most 255 are allowed.');
  });
});

describe('randomDeviceId', () => {
  it('makes 10 ASCII letters and digits, as MAS does, that pass validation', () => {
    const ids = Array.from({ length: 200 }, () => randomDeviceId());
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9]{10}$/);
      expect(validateDeviceId(id)).toBeUndefined();
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses upper case, lower case and digits', () => {
    const all = Array.from({ length: 100 }, () => randomDeviceId()).join('');
    expect(all).toMatch(/[A-Z]/);
    expect(all).toMatch(/[a-z]/);
    expect(all).toMatch(/[0-9]/);
  });
});
