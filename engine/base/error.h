// The engine reports failures by throwing lethe::Error with a one-line message that names
// the cause (and the file, where there is one). The CLI and the worker turn it into an
// exit status or an absl::Status at their boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace lethe {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace lethe
