// TEMPORARY (deleted when src/filter lands): link-time placeholders for filter.h.
#include "vecdex/filter.h"

namespace vecdex {
Result<Filter> ParseFilter(std::string_view) { return Status::Internal("filters: not yet"); }
Result<bool> FilterMatches(const Filter&, const PointKey&, std::string_view) {
  return Status::Internal("filters: not yet");
}
std::string FilterToJson(const Filter&) { return "{}"; }
}  // namespace vecdex
