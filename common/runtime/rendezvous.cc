#include "common/runtime/rendezvous.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/str_cat.h"

namespace rto {

struct Rendezvous::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

Rendezvous::Rendezvous(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rendezvous::~Rendezvous() = default;
int Rendezvous::port() const { return impl_->store->getPort(); }
c10::intrusive_ptr<c10d::Store> Rendezvous::store() const { return impl_->store; }

absl::StatusOr<std::unique_ptr<Rendezvous>> Rendezvous::Start(const std::string& host, int port,
                                                              std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.isServer = true;
  o.waitWorkers = false;
  o.timeout = timeout;
  try {
    auto impl = std::make_unique<Impl>();
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, o);
    return std::unique_ptr<Rendezvous>(new Rendezvous(std::move(impl)));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot start the rendezvous store on ", host, ":", port, ": ", e.what()));
  }
}

}  // namespace rto
