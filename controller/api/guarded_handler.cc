#include "controller/api/guarded_handler.h"

#include <sys/socket.h>

#include "common/logging.h"
#include "pistache/peer.h"

namespace l4d2::controller {
namespace {

// Pistache 0.0.5 lets only its Transport attach a handler to a transport
// (Tcp::Handler::associateTransport is private, for `friend class Transport`), and the guard
// must attach the router handler it holds to its own transport for that handler to answer.
// The member is named in an explicit template instantiation, where access is not checked
// ([temp.spec.general]/6). This is the one place the controller reaches into Pistache; the
// oversized-request tests fail if a Pistache upgrade changes it.
struct AssociateTransport {
  using Member = void (Pistache::Tcp::Handler::*)(Pistache::Tcp::Transport*);
  friend Member MemberOf(AssociateTransport);
};
template <typename Tag, typename Tag::Member kMember>
struct Expose {
  friend typename Tag::Member MemberOf(Tag) { return kMember; }
};
template struct Expose<AssociateTransport, &Pistache::Tcp::Handler::associateTransport>;

}  // namespace

Pistache::Tcp::Handler& GuardedHandler::Parser() {
  if (parser_ == nullptr) {
    parser_ = router_.handler();
    parser_->setMaxRequestSize(getMaxRequestSize());
    parser_->setMaxResponseSize(getMaxResponseSize());
    parser_->setHeaderTimeout(getHeaderTimeout());
    parser_->setBodyTimeout(getBodyTimeout());
    Pistache::Tcp::Handler& base = *parser_;
    (base.*MemberOf(AssociateTransport{}))(transport());
  }
  return *parser_;
}

void GuardedHandler::onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  Connection& connection = connections_.try_emplace(peer.get(), limits_).first->second;
  connection.address = peer->address().host();
  Parser().onConnection(peer);
  if (std::optional<Refusal> refused = addresses_->Connect(connection.address)) {
    Refuse(*peer, connection, *refused);
  } else {
    connection.counted = true;
  }
}

void GuardedHandler::onInput(const char* buffer, size_t length,
                             const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = connections_.find(peer.get());
  if (it == connections_.end()) return;
  Connection& connection = it->second;
  if (connection.refused) return;
  std::optional<Refusal> refused = connection.scanner.Feed(
      absl::string_view(buffer, length), [&](const RequestHead& head) -> std::optional<Refusal> {
        if (head.has_credentials) return std::nullopt;
        return addresses_->Unauthenticated(connection.address);
      });
  if (refused.has_value()) {
    Refuse(*peer, connection, *refused);
    return;
  }
  Parser().onInput(buffer, length, peer);
}

void GuardedHandler::onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = connections_.find(peer.get());
  if (it != connections_.end()) {
    if (it->second.counted) addresses_->Disconnect(it->second.address);
    connections_.erase(it);
  }
  Parser().onDisconnection(peer);
}

// The answer goes straight to the socket (it is small: the socket's buffer takes it whole),
// then both directions are shut: the reactor sees the end of input and closes the connection,
// reading nothing more of what the client still sends.
void GuardedHandler::Refuse(const Pistache::Tcp::Peer& peer, Connection& connection,
                            const Refusal& refusal) {
  connection.refused = true;
  const std::string response = RefusalResponse(refusal);
  if (send(peer.fd(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    L4D2_LOG(DEBUG) << "refusal to " << connection.address << " not sent";
  }
  shutdown(peer.fd(), SHUT_RDWR);
}

}  // namespace l4d2::controller
