// Ed25519 signed notes (common/signed_note.h) and checkpoint text
// (common/tlog_checkpoint.h): interoperability with the Go checksum database's published
// note, signing, rotation, and rejection of altered notes and unknown keys.
#include "common/signed_note.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "common/merkle.h"
#include "common/tlog_checkpoint.h"

namespace lethe {
namespace {

// A fresh Ed25519 private key as PEM (what `openssl genpkey -algorithm ed25519` writes).
std::string NewKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// The example of golang.org/x/mod/sumdb/note: the same format, byte for byte.
constexpr char kGoVerifierKey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kGoNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(SignedNoteTest, VerifiesTheGoChecksumDatabaseExample) {
  absl::StatusOr<NoteVerifier> v = NoteVerifier::FromVerifierKey(kGoVerifierKey);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->key_id_hex(), "c74f20a3");
  EXPECT_EQ(v->VerifierKey(), kGoVerifierKey);
  absl::StatusOr<SignedNote> note = ParseSignedNote(kGoNote);
  ASSERT_TRUE(note.ok()) << note.status();
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "PeterNeumann");
  absl::StatusOr<size_t> which = VerifySignedNote(*note, {*v});
  ASSERT_TRUE(which.ok()) << which.status();
  // One changed character in the text and the signature no longer verifies.
  std::string altered = kGoNote;
  altered[3] = 'X';
  absl::StatusOr<SignedNote> bad = ParseSignedNote(altered);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(VerifySignedNote(*bad, {*v}).status().code(), absl::StatusCode::kUnauthenticated);
  // A verifier key whose id does not match its key is refused.
  EXPECT_FALSE(
      NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                    "LDE4izWy10TW")
          .ok());
}

TEST(SignedNoteTest, SignsCheckpointsThatRotatedKeysStillVerify) {
  absl::StatusOr<NoteSigner> old_key = NoteSigner::FromPrivateKeyPem("lethe-audit", NewKeyPem());
  absl::StatusOr<NoteSigner> new_key = NoteSigner::FromPrivateKeyPem("lethe-audit", NewKeyPem());
  ASSERT_TRUE(old_key.ok()) << old_key.status();
  ASSERT_TRUE(new_key.ok()) << new_key.status();
  EXPECT_NE(old_key->verifier().key_id(), new_key->verifier().key_id());

  TlogCheckpoint cp{"lethe-audit", 1234, merkle::HashLeaf("root"), "2026-01-02T03:04:05Z"};
  const std::string text = FormatCheckpointText(cp);
  EXPECT_EQ(text, "lethe-audit\n1234\n" + Base64Encode(cp.root) + "\ntime 2026-01-02T03:04:05Z\n");
  absl::StatusOr<std::string> note = old_key->Sign(text);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(note->rfind(text + "\n\xe2\x80\x94 lethe-audit ", 0), 0u) << *note;

  // After a rotation the old key stays among the verifiers: old checkpoints still open.
  absl::StatusOr<SignedNote> parsed = ParseSignedNote(*note);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<size_t> which =
      VerifySignedNote(*parsed, {new_key->verifier(), old_key->verifier()});
  ASSERT_TRUE(which.ok()) << which.status();
  EXPECT_EQ(*which, 1u);
  absl::StatusOr<TlogCheckpoint> back = ParseCheckpointText(parsed->text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->size, 1234);
  EXPECT_EQ(back->root, cp.root);
  EXPECT_EQ(back->time, cp.time);

  // Signed by a key nobody listed: refused, naming the key.
  absl::StatusOr<size_t> unknown = VerifySignedNote(*parsed, {new_key->verifier()});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(unknown.status().message().find("unknown key"), std::string::npos) << unknown.status();
  EXPECT_NE(unknown.status().message().find(old_key->verifier().key_id_hex()), std::string::npos);

  // A verifier key and a PEM public key round-trip to the same key.
  absl::StatusOr<NoteVerifier> from_vkey =
      NoteVerifier::FromVerifierKey(old_key->verifier().VerifierKey());
  ASSERT_TRUE(from_vkey.ok());
  absl::StatusOr<NoteVerifier> from_pem =
      NoteVerifier::FromPublicKeyPem("lethe-audit", old_key->verifier().PublicKeyPem());
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  EXPECT_EQ(from_vkey->public_key(), old_key->verifier().public_key());
  EXPECT_EQ(from_pem->key_id(), old_key->verifier().key_id());

  // Base64 may contain '+', the field separator of verifier keys: half of all keys do.
  int with_plus = 0;
  for (int i = 0; i < 32; ++i) {
    NoteVerifier v = NoteSigner::FromPrivateKeyPem("k", NewKeyPem())->verifier();
    const std::string vkey = v.VerifierKey();
    with_plus += vkey.find('+', vkey.find('+', 2) + 1) != std::string::npos;
    absl::StatusOr<NoteVerifier> back = NoteVerifier::FromVerifierKey(vkey);
    ASSERT_TRUE(back.ok()) << vkey << ": " << back.status();
    EXPECT_EQ(back->public_key(), v.public_key());
  }
  EXPECT_GT(with_plus, 0);
}

TEST(SignedNoteTest, RejectsMalformedNotesKeysAndCheckpoints) {
  EXPECT_FALSE(ParseSignedNote("no blank line\n").ok());
  EXPECT_FALSE(ParseSignedNote("text\n\nnot a signature\n").ok());
  EXPECT_FALSE(ParseSignedNote("text\n\n\xe2\x80\x94 k AAAA\n").ok());  // too short
  EXPECT_FALSE(NoteSigner::FromPrivateKeyPem("k", "not pem").ok());
  EXPECT_FALSE(NoteSigner::FromPrivateKeyPem("has space", NewKeyPem()).ok());
  EXPECT_FALSE(IsValidKeyName("a+b"));
  EXPECT_TRUE(IsValidKeyName("lethe.example.org/audit"));
  std::string root = Base64Encode(std::string(32, 'r'));
  EXPECT_TRUE(ParseCheckpointText("o\n5\n" + root + "\ntime 2026-01-02T03:04:05Z\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n05\n" + root + "\ntime 2026-01-02T03:04:05Z\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n-5\n" + root + "\ntime 2026-01-02T03:04:05Z\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n5\nAAAA\ntime 2026-01-02T03:04:05Z\n").ok());
  EXPECT_FALSE(ParseCheckpointText("o\n5\n" + root + "\n").ok());
  std::string out;
  EXPECT_TRUE(Base64Decode("aGk=", &out));
  EXPECT_EQ(out, "hi");
  EXPECT_FALSE(Base64Decode("aGk", &out));
  EXPECT_FALSE(Base64Decode("a!k=", &out));
}

}  // namespace
}  // namespace lethe
