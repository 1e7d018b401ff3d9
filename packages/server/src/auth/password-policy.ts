/**
 * What a new password must be (ASVS V6.2): 8 to 128 characters, any characters, and not one
 * of the most common passwords, nor the account's own email. No composition rules (V6.2.5).
 */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

// The most common passwords of at least 8 characters in public breach corpora (lower-cased).
const COMMON = new Set(
  `12345678 123456789 1234567890 12345678910 password password1 password123 password12 passw0rd
  qwertyuiop qwerty123 qwerty12 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx iloveyou iloveyou1
  11111111 00000000 88888888 87654321 123123123 12341234 11223344 abcd1234 abc12345 a1b2c3d4
  aa123456 asdfghjkl asdfasdf sunshine princess football baseball basketball superman batman
  starwars welcome1 welcome123 letmein1 trustno1 whatever dragon123 monkey123 master123 shadow12
  michael1 jennifer jordan23 charlie1 computer internet samsung1 changeme changeme1 admin123
  administrator adminadmin default1 secret123 test1234 testtest qwerty1234 q1w2e3r4 q1w2e3r4t5
  123qweasd 123456abc abc123456 1234qwer qwer1234 987654321 999999999 777777777 666666666
  555555555 123321123 1q2w3e4r5t6y 11111111111 password! p@ssw0rd p@ssword passw0rd1
  football1 baseball1 mustang1 access14 sunshine1 princess1 lovely123 babygirl1 fuckyou1
  letmein123 welcome! summer2024 summer2025 winter2024 spring2025 autumn2025 hello123 hellohello`
    .split(/\s+/)
    .filter(Boolean),
);

/** A problem with the proposed password, in words a person understands, or undefined when fine. */
export function passwordProblem(password: string, email?: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'This password is one of the most common ones; choose another';
  if (email && lower === email.toLowerCase()) return 'The password may not be your email address';
  return undefined;
}
