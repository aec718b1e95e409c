#include "common/runtime/rendezvous.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {

struct Rendezvous::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

Rendezvous::Rendezvous(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rendezvous::~Rendezvous() = default;
int Rendezvous::port() const { return impl_->store->getPort(); }
c10::intrusive_ptr<c10d::Store> Rendezvous::store() const { return impl_->store; }

namespace {

// A listening socket on host:port (port 0: a free one). TCPStore's own server would listen on
// every interface; this one only on the address the ranks reach it at.
absl::StatusOr<int> Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int e = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); e != 0 || found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve the rendezvous host '", host, "': ", gai_strerror(e)));
  }
  sockaddr_in address = *reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  ::freeaddrinfo(found);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", port, " for the rendezvous store: ", std::strerror(error)));
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Rendezvous>> Rendezvous::Start(const std::string& host, int port,
                                                              std::chrono::milliseconds timeout) {
  RTO_ASSIGN_OR_RETURN(const int fd, Listen(host, port));
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.masterListenFd = fd;  // the store owns it from here
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
