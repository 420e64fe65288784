// Ed25519-signed text notes in the C2SP signed-note format (the format of Go's checksum
// database and of tlog checkpoints), so that anyone holding a public key can check a
// note with a few lines of code and no Lethe software:
//
//   <text: one or more lines, each ending in "\n">
//   "\n"
//   "— <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\n"   (one or more)
//
// The signature covers the text exactly. key id = the first 4 bytes of
// SHA-256(<key name> || "\n" || 0x01 || <32-byte Ed25519 public key>), so several keys
// (old and new, during a rotation) can share a name and each signature says which one
// made it. Public keys travel as verifier keys: "<name>+<key id hex>+<base64(0x01 ||
// public key)>".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lethe {

std::string Base64Encode(std::string_view data);
// Standard alphabet with padding; false on anything else.
bool Base64Decode(std::string_view text, std::string* out);

// A key name: non-empty, printable ASCII, no spaces and no '+'.
bool IsValidKeyName(std::string_view name);

// An Ed25519 public key under a name.
class NoteVerifier {
 public:
  // "<name>+<hex key id>+<base64(0x01 || key)>"; INVALID_ARGUMENT naming what is wrong.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(std::string_view vkey);
  // A PEM "PUBLIC KEY" holding an Ed25519 key.
  static absl::StatusOr<NoteVerifier> FromPublicKeyPem(std::string_view name, std::string_view pem);
  static absl::StatusOr<NoteVerifier> FromRawPublicKey(std::string_view name,
                                                       std::string_view raw32);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  std::string key_id_hex() const;
  const std::string& public_key() const { return public_key_; }  // 32 raw bytes
  std::string VerifierKey() const;
  std::string PublicKeyPem() const;
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  std::string name_;
  uint32_t key_id_ = 0;
  std::string public_key_;
};

// An Ed25519 private key under a name.
class NoteSigner {
 public:
  // A PEM "PRIVATE KEY" (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it).
  static absl::StatusOr<NoteSigner> FromPrivateKeyPem(std::string_view name, std::string_view pem);
  static absl::StatusOr<NoteSigner> FromPrivateKeyFile(std::string_view name,
                                                       const std::string& path);

  const NoteVerifier& verifier() const { return verifier_; }
  // The 64-byte signature of `message`.
  absl::StatusOr<std::string> SignRaw(std::string_view message) const;
  // The whole note: text, blank line, one signature line. `text` must end in "\n".
  absl::StatusOr<std::string> Sign(std::string_view text) const;

 private:
  NoteVerifier verifier_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // 64 bytes
};

struct SignedNote {
  std::string text;  // what the signatures cover, ending in "\n"
  std::vector<NoteSignature> signatures;
};

// Splits a note; INVALID_ARGUMENT when it is not in the format above.
absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note);

// Public keys from a file's text: one PEM "PUBLIC KEY" (named `pem_name`), or verifier
// keys one per line (blank lines and lines starting with '#' are skipped).
absl::StatusOr<std::vector<NoteVerifier>> ParseVerifierKeys(std::string_view text,
                                                            std::string_view pem_name);

// Opens a note: at least one signature must be by a key in `verifiers` (name and key id)
// and verify. UNAUTHENTICATED naming the key when no known key signed it, or when a
// known key's signature does not verify. Returns the verifying key's index.
absl::StatusOr<size_t> VerifySignedNote(const SignedNote& note,
                                        const std::vector<NoteVerifier>& verifiers);

}  // namespace lethe
