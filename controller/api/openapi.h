#pragma once

// The OpenAPI 3.0 description of the HTTP API, generated from the route table and the
// protobuf descriptors of the bodies (their JSON mapping), served at /api/v1/openapi.json.
// Being generated from what the server registers, it cannot describe a route that is not
// served nor miss one; tests/controller/api checks it against the live router anyway.

#include <string>
#include <vector>

#include "controller/api/route.h"

namespace l4d2::controller {

// The document as JSON.
std::string OpenApiDocument(const std::vector<Route>& routes, const std::string& version);

}  // namespace l4d2::controller
