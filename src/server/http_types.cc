#include "server/http_types.h"

#include <algorithm>
#include <cctype>

namespace vecdex::server {

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

const std::string* HttpRequest::QueryValue(std::string_view key) const {
  auto it = query.find(std::string(key));
  return it == query.end() ? nullptr : &it->second;
}

const std::string* HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

}  // namespace vecdex::server
