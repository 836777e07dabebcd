/** The one libsodium binding Vigil uses (sodium-native ships no types). */
declare module 'sodium-native' {
  const sodium: {
    /** True iff `sig` (64 bytes) is `publicKey`'s (32 bytes) ed25519 signature of `message`; throws on wrong lengths. */
    crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  }
  export default sodium
}
