#pragma once

// Who asks the stores for something: a user (admin or operator) or the controller itself.
// Operators see and change only what they own; admins and the controller see everything.

#include <string>

namespace l4d2::controller {

struct Actor {
  std::string user_id;  // empty for the controller itself
  bool admin = false;

  static Actor System() { return {.user_id = "", .admin = true}; }
  static Actor Admin(std::string id) { return {.user_id = std::move(id), .admin = true}; }
  static Actor Operator(std::string id) { return {.user_id = std::move(id), .admin = false}; }

  // Whether an object owned by `owner_id` ("" for global objects, which everyone may use) is
  // visible to this actor.
  bool Sees(const std::string& owner_id) const {
    return admin || owner_id.empty() || owner_id == user_id;
  }
  // Whether this actor may change an object owned by `owner_id` (global ones: admins only).
  bool Owns(const std::string& owner_id) const {
    return admin || (!owner_id.empty() && owner_id == user_id);
  }
  // As the audit log and jobs name it: "user:<id>" or "system".
  std::string Name() const { return user_id.empty() ? "system" : "user:" + user_id; }
};

}  // namespace l4d2::controller
