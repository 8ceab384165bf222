#include "server/auth.h"

namespace vecdex::server {
namespace {

// Compares in time independent of where the strings differ.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::optional<std::string> PresentedKey(const HttpRequest& request) {
  if (const std::string* key = request.Header("api-key")) return *key;
  if (const std::string* auth = request.Header("authorization")) {
    constexpr std::string_view kBearer = "Bearer ";
    if (auth->size() > kBearer.size() && auth->compare(0, kBearer.size(), kBearer) == 0) {
      return auth->substr(kBearer.size());
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<AuthFailure> Authorize(const HttpRequest& request, Access access, const ServerOptions& options) {
  if (access == Access::kPublic) return std::nullopt;
  if (options.api_key.empty() && options.read_only_api_key.empty()) return std::nullopt;
  const std::optional<std::string> key = PresentedKey(request);
  if (!key) return AuthFailure{401, "Must provide an API key or an Authorization bearer token"};
  if (SameSecret(*key, options.api_key)) return std::nullopt;
  if (SameSecret(*key, options.read_only_api_key)) {
    if (access == Access::kRead) return std::nullopt;
    return AuthFailure{403, "Forbidden: write access denied for a read-only API key"};
  }
  return AuthFailure{401, "Invalid API key or JWT"};
}

}  // namespace vecdex::server
