#pragma once

// The handler Pistache's reactors call with every connection's bytes: each byte is scanned by
// a RequestScanner (request_guard.h) before Pistache's own request parser (the router's handler,
// held inside) sees it, and the address's limits are applied on connect and on each request
// without credentials. A refused connection gets its JSON error and is shut down at once; its
// later bytes are dropped unread by the parser.

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "controller/api/request_guard.h"
#include "pistache/http.h"
#include "pistache/router.h"

namespace l4d2::controller {

class GuardedHandler final : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardedHandler)

  // `router` must outlive every clone (one per reactor thread).
  GuardedHandler(Pistache::Rest::Router& router, const RequestLimits& limits,
                 std::shared_ptr<AddressLimiter> addresses)
      : router_(router), limits_(limits), addresses_(std::move(addresses)) {}
  // A clone shares the router and the address limits, with its own parser and connections.
  GuardedHandler(const GuardedHandler& other)
      : Pistache::Http::Handler(other),
        router_(other.router_),
        limits_(other.limits_),
        addresses_(other.addresses_) {}

  // Never called: the held router handler parses and routes.
  void onRequest(const Pistache::Http::Request&, Pistache::Http::ResponseWriter) override {}

 private:
  struct Connection {
    explicit Connection(const RequestLimits& limits) : scanner(limits) {}
    RequestScanner scanner;
    std::string address;
    bool counted = false;  // in the address's open connections
    bool refused = false;
  };

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t length,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  // Pistache's router handler, attached to this clone's transport on first use.
  Pistache::Tcp::Handler& Parser();
  static void Refuse(const Pistache::Tcp::Peer& peer, Connection& connection,
                     const Refusal& refusal);

  Pistache::Rest::Router& router_;
  const RequestLimits limits_;
  std::shared_ptr<AddressLimiter> addresses_;
  std::shared_ptr<Pistache::Http::Handler> parser_;
  // By peer; only this clone's reactor thread touches it.
  absl::flat_hash_map<const Pistache::Tcp::Peer*, Connection> connections_;
};

}  // namespace l4d2::controller
