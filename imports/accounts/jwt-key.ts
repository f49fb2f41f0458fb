import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * The one key a JWT login verifies with, and the one algorithm that fits it.
 *
 * Why one algorithm: a verifier that lets the token's header choose (`alg:
 * none`, or HS256 signed with an RSA public key as the "secret") accepts
 * forgeries (RFC 8725 §2.1, §3.1: "libraries MUST enable the caller to
 * specify a supported set of algorithms"). So the key decides: a secret is
 * HS256, an RSA public key RS256, an EC P-256 public key ES256; nothing else.
 * Example: `verificationKeyOf({ publicKeyPem: readFileSync('jwt.pub', 'utf8') })` → `{ key, algorithm: 'RS256' }`.
 * Caveats: throws a plain Error at start for a missing, doubled, short or
 * unsupported key: a misconfiguration, never a client's fault.
 */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface JwtKeyOptions {
  /** An HS256 shared secret, at least `MIN_HS256_SECRET_BYTES` bytes. */
  secret?: string;
  /** A PEM public key (SPKI `BEGIN PUBLIC KEY`, or PKCS#1 `BEGIN RSA PUBLIC KEY`): RSA ≥ 2048 bits or EC P-256. */
  publicKeyPem?: string;
}

export interface VerificationKey {
  key: KeyObject;
  algorithm: JwtAlgorithm;
}

/** RFC 7518 §3.2: "A key of the same size as the hash output (for instance, 256 bits for "HS256") or larger MUST be used". */
export const MIN_HS256_SECRET_BYTES = 32;
/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms" (RS256). */
export const MIN_RSA_MODULUS_BITS = 2048;

export function verificationKeyOf({ secret, publicKeyPem }: JwtKeyOptions): VerificationKey {
  if (secret && publicKeyPem) throw new Error('JWT login: give either `secret` (HS256) or `publicKeyPem` (RS256/ES256), not both');
  if (secret) {
    if (Buffer.byteLength(secret) < MIN_HS256_SECRET_BYTES) {
      throw new Error(`JWT login: the HS256 secret must be at least ${MIN_HS256_SECRET_BYTES} bytes (RFC 7518 §3.2)`);
    }
    return { key: createSecretKey(Buffer.from(secret)), algorithm: 'HS256' };
  }
  if (!publicKeyPem) throw new Error('JWT login: a key is required: `secret` (HS256) or `publicKeyPem` (RS256/ES256)');
  if (publicKeyPem.includes('PRIVATE KEY')) {
    // createPublicKey would derive the public half, but a private key has no business in the verifier's configuration.
    throw new Error('JWT login: `publicKeyPem` holds a private key; give the public key (openssl pkey -pubout)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (error) {
    throw new Error(`JWT login: \`publicKeyPem\` is not a PEM public key (${(error as Error).message})`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) {
      throw new Error(`JWT login: the RSA key has ${details.modulusLength} bits; RS256 needs at least ${MIN_RSA_MODULUS_BITS} (RFC 7518 §3.3)`);
    }
    return { key, algorithm: 'RS256' };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return { key, algorithm: 'ES256' };
  const kind = key.asymmetricKeyType === 'ec' ? `EC ${details.namedCurve}` : key.asymmetricKeyType;
  throw new Error(`JWT login: a ${kind} public key is not supported; use RSA (RS256) or EC P-256 (ES256)`);
}
