#include "common/signed_note.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/merkle.h"
#include "engine/base/file_util.h"

namespace lethe {
namespace {

constexpr char kSigPrefix[] = "\xe2\x80\x94 ";  // "— "
constexpr unsigned char kAlgEd25519 = 0x01;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

uint32_t KeyId(std::string_view name, std::string_view public_key) {
  std::string data(name);
  data.push_back('\n');
  data.push_back(char(kAlgEd25519));
  data.append(public_key);
  std::string h = merkle::Sha256(data);
  return (uint32_t(uint8_t(h[0])) << 24) | (uint32_t(uint8_t(h[1])) << 16) |
         (uint32_t(uint8_t(h[2])) << 8) | uint32_t(uint8_t(h[3]));
}

std::string KeyIdBytes(uint32_t id) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = char((id >> (24 - 8 * i)) & 0xff);
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) |
                 uint32_t(uint8_t(data[i + 2]));
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (data.size() - i == 1) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (data.size() - i == 2) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = (text[i + 2] == '=') ? 2 : 1;
    uint32_t v = 0;
    for (int j = 0; j < 4; ++j) {
      int d = (j >= 4 - pad) ? 0 : value(text[i + j]);
      if (d < 0) return false;
      v = (v << 6) | uint32_t(d);
    }
    out->push_back(char((v >> 16) & 0xff));
    if (pad < 2) out->push_back(char((v >> 8) & 0xff));
    if (pad < 1) out->push_back(char(v & 0xff));
  }
  return Base64Encode(*out) == text;  // canonical encodings only
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '+') return false;
  }
  return true;
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromRawPublicKey(std::string_view name,
                                                            std::string_view raw32) {
  if (!IsValidKeyName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key name \"", std::string(name), "\" is not printable ASCII without spaces and '+'"));
  }
  if (raw32.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 public key has 32 bytes, got ", raw32.size()));
  }
  NoteVerifier v;
  v.name_ = std::string(name);
  v.public_key_ = std::string(raw32);
  v.key_id_ = KeyId(name, raw32);
  return v;
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(std::string_view vkey) {
  // NAME+KEYID+BASE64, where the base64 may itself contain '+'.
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(vkey.data(), vkey.size()), absl::MaxSplits('+', 2));
  if (parts.size() != 3) {
    return absl::InvalidArgumentError("a verifier key is NAME+KEYID+BASE64KEY");
  }
  std::string key;
  if (!Base64Decode(parts[2], &key) || key.size() != 33 || uint8_t(key[0]) != kAlgEd25519) {
    return absl::InvalidArgumentError(
        "verifier key: the last part is not base64 of 0x01 and a 32-byte Ed25519 key");
  }
  absl::StatusOr<NoteVerifier> v = FromRawPublicKey(parts[0], key.substr(1));
  if (!v.ok()) return v.status();
  if (v->key_id_hex() != parts[1]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "verifier key: key id ", parts[1], " does not match the key (", v->key_id_hex(), ")"));
  }
  return v;
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromPublicKeyPem(std::string_view name,
                                                            std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!pkey) return absl::InvalidArgumentError("not a PEM public key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("the public key is not an Ed25519 key");
  }
  unsigned char raw[32];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(pkey.get(), raw, &len) != 1 || len != 32) {
    return absl::InvalidArgumentError("cannot read the Ed25519 public key");
  }
  return FromRawPublicKey(name, std::string_view(reinterpret_cast<char*>(raw), len));
}

std::string NoteVerifier::key_id_hex() const { return merkle::ToHex(KeyIdBytes(key_id_)); }

std::string NoteVerifier::VerifierKey() const {
  std::string key(1, char(kAlgEd25519));
  key.append(public_key_);
  return absl::StrCat(name_, "+", key_id_hex(), "+", Base64Encode(key));
}

std::string NoteVerifier::PublicKeyPem() const {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(
                   EVP_PKEY_ED25519, nullptr,
                   reinterpret_cast<const unsigned char*>(public_key_.data()), public_key_.size()),
               EVP_PKEY_free);
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(len));
}

bool NoteVerifier::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(
                   EVP_PKEY_ED25519, nullptr,
                   reinterpret_cast<const unsigned char*>(public_key_.data()), public_key_.size()),
               EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!pkey || !ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

absl::StatusOr<NoteSigner> NoteSigner::FromPrivateKeyPem(std::string_view name,
                                                         std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return absl::InvalidArgumentError("not a PEM private key");
  std::shared_ptr<void> pkey(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        "the private key is not an Ed25519 key (make one with `openssl genpkey -algorithm "
        "ed25519`)");
  }
  unsigned char pub[32];
  size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(raw, pub, &len) != 1 || len != 32) {
    return absl::InvalidArgumentError("cannot derive the Ed25519 public key");
  }
  absl::StatusOr<NoteVerifier> v =
      NoteVerifier::FromRawPublicKey(name, std::string_view(reinterpret_cast<char*>(pub), len));
  if (!v.ok()) return v.status();
  NoteSigner s;
  s.verifier_ = std::move(*v);
  s.pkey_ = std::move(pkey);
  return s;
}

absl::StatusOr<NoteSigner> NoteSigner::FromPrivateKeyFile(std::string_view name,
                                                          const std::string& path) {
  std::string pem;
  try {
    pem = ReadFile(path);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": ", e.what()));
  }
  absl::StatusOr<NoteSigner> s = FromPrivateKeyPem(name, pem);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.status().message()));
  return s;
}

absl::StatusOr<std::string> NoteSigner::SignRaw(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  size_t len = sizeof(sig);
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                         static_cast<EVP_PKEY*>(pkey_.get())) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != 64) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return std::string(reinterpret_cast<char*>(sig), len);
}

absl::StatusOr<std::string> NoteSigner::Sign(std::string_view text) const {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("note text must end with a newline");
  }
  absl::StatusOr<std::string> sig = SignRaw(text);
  if (!sig.ok()) return sig.status();
  return absl::StrCat(std::string(text), "\n", kSigPrefix, verifier_.name(), " ",
                      Base64Encode(KeyIdBytes(verifier_.key_id()) + *sig), "\n");
}

absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not a signed note: ", std::string(why)));
  };
  if (note.size() > 1 << 20) return bad("larger than 1 MiB");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return bad("no blank line before the signatures");
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return bad("the last line does not end in a newline");
  sigs.remove_suffix(1);
  for (absl::string_view absl_line :
       absl::StrSplit(absl::string_view(sigs.data(), sigs.size()), '\n')) {
    std::string_view line(absl_line.data(), absl_line.size());
    if (line.substr(0, 4) != kSigPrefix) return bad("a signature line does not start with \"— \"");
    line.remove_prefix(4);
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return bad("a signature line has no key name");
    NoteSignature s;
    s.name = std::string(line.substr(0, space));
    std::string blob;
    if (!IsValidKeyName(s.name)) return bad("a signature names an invalid key");
    if (!Base64Decode(line.substr(space + 1), &blob) || blob.size() != 68) {
      return bad("a signature is not base64 of a 4-byte key id and 64 bytes");
    }
    s.key_id = (uint32_t(uint8_t(blob[0])) << 24) | (uint32_t(uint8_t(blob[1])) << 16) |
               (uint32_t(uint8_t(blob[2])) << 8) | uint32_t(uint8_t(blob[3]));
    s.signature = blob.substr(4);
    out.signatures.push_back(std::move(s));
  }
  if (out.signatures.empty()) return bad("no signature");
  return out;
}

absl::StatusOr<std::vector<NoteVerifier>> ParseVerifierKeys(std::string_view text,
                                                            std::string_view pem_name) {
  std::vector<NoteVerifier> out;
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    absl::StatusOr<NoteVerifier> v = NoteVerifier::FromPublicKeyPem(pem_name, text);
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
    return out;
  }
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::StatusOr<NoteVerifier> v =
        NoteVerifier::FromVerifierKey(std::string_view(line.data(), line.size()));
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
  }
  if (out.empty()) return absl::InvalidArgumentError("no public key (PEM or verifier key) found");
  return out;
}

absl::StatusOr<size_t> VerifySignedNote(const SignedNote& note,
                                        const std::vector<NoteVerifier>& verifiers) {
  std::string unknown;
  for (const NoteSignature& s : note.signatures) {
    for (size_t i = 0; i < verifiers.size(); ++i) {
      const NoteVerifier& v = verifiers[i];
      if (v.name() != s.name || v.key_id() != s.key_id) continue;
      if (!v.Verify(note.text, s.signature)) {
        return absl::UnauthenticatedError(absl::StrCat("the signature by key ", s.name, "+",
                                                       v.key_id_hex(),
                                                       " does not verify: the note was altered"));
      }
      return i;
    }
    if (!unknown.empty()) unknown += ", ";
    unknown += absl::StrCat(s.name, "+", merkle::ToHex(KeyIdBytes(s.key_id)));
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the note is signed only by unknown key(s) ", unknown,
      " (known: ", verifiers.empty() ? std::string("none") : "",
      [&] {
        std::string k;
        for (const NoteVerifier& v : verifiers) {
          if (!k.empty()) k += ", ";
          k += absl::StrCat(v.name(), "+", v.key_id_hex());
        }
        return k;
      }(),
      ")"));
}

}  // namespace lethe
