#include "common/tokenizer/sentencepiece_backend.h"

#include <sentencepiece_processor.h>

namespace rto {

struct SentencePieceBackend::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceBackend::SentencePieceBackend() : impl_(std::make_unique<Impl>()) {}
SentencePieceBackend::~SentencePieceBackend() = default;

std::unique_ptr<SentencePieceBackend> SentencePieceBackend::Load(const std::string& path, std::string* error) {
  std::unique_ptr<SentencePieceBackend> b(new SentencePieceBackend());
  auto status = b->impl_->sp.Load(path);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return b;
}

std::vector<int> SentencePieceBackend::Encode(std::string_view text) const {
  std::vector<int> ids;
  impl_->sp.Encode(text, &ids).IgnoreError();  // fails only without a loaded model
  return ids;
}

std::string SentencePieceBackend::Decode(const std::vector<int>& ids) const {
  std::string text;
  impl_->sp.Decode(ids, &text).IgnoreError();
  return text;
}

int SentencePieceBackend::PieceSize() const { return impl_->sp.GetPieceSize(); }
std::string SentencePieceBackend::IdToPiece(int id) const { return impl_->sp.IdToPiece(id); }
int SentencePieceBackend::PieceToId(std::string_view piece) const {
  int id = impl_->sp.PieceToId(piece);
  return (id == impl_->sp.unk_id() && impl_->sp.IdToPiece(id) != piece) ? -1 : id;
}
bool SentencePieceBackend::IsControl(int id) const { return impl_->sp.IsControl(id); }
bool SentencePieceBackend::IsUnknown(int id) const { return impl_->sp.IsUnknown(id); }
int SentencePieceBackend::bos_id() const { return impl_->sp.bos_id(); }
int SentencePieceBackend::eos_id() const { return impl_->sp.eos_id(); }
int SentencePieceBackend::pad_id() const { return impl_->sp.pad_id(); }

}  // namespace rto
