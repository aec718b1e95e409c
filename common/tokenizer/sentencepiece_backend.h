// A narrow, std-only wrapper over sentencepiece::SentencePieceProcessor. libsentencepiece's
// header declares its own `absl::string_view`, which clashes with Abseil's, so only
// sentencepiece_backend.cc includes it, and that file includes nothing from Abseil.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rto {

class SentencePieceBackend {
 public:
  // nullptr with `*error` set when the file is not a SentencePiece model.
  static std::unique_ptr<SentencePieceBackend> Load(const std::string& path, std::string* error);
  ~SentencePieceBackend();

  std::vector<int> Encode(std::string_view text) const;
  std::string Decode(const std::vector<int>& ids) const;
  int PieceSize() const;
  std::string IdToPiece(int id) const;
  int PieceToId(std::string_view piece) const;  // -1 when absent
  bool IsControl(int id) const;
  bool IsUnknown(int id) const;
  int bos_id() const;
  int eos_id() const;
  int pad_id() const;

 private:
  SentencePieceBackend();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rto
